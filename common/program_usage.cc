#include "common/program_usage.h"

#include <cstdlib>
#include <iostream>
#include <string>

#include "absl/algorithm/container.h"
#include "absl/flags/parse.h"
#include "absl/flags/reflection.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace l4d2 {

void SetProgramUsage(absl::string_view usage) {
  absl::SetProgramUsageMessage(usage);
  // Abseil's own --help (reached only by spellings ParseProgramCommandLine does not take, e.g.
  // --help=substring) lists our flags too, not only those of a file named like the program.
  absl::FlagsUsageConfig config;
  config.contains_help_flags = [](absl::string_view file) {
    return !absl::StrContains(file, "absl/");
  };
  config.contains_helpshort_flags = config.contains_help_flags;
  absl::SetFlagsUsageConfig(config);
}

std::string ProgramUsageText() {
  std::vector<absl::CommandLineFlag*> flags;
  for (const auto& [name, flag] : absl::GetAllFlags()) {
    if (!absl::StrContains(flag->Filename(), "absl/")) flags.push_back(flag);
  }
  absl::c_sort(flags, [](const absl::CommandLineFlag* a, const absl::CommandLineFlag* b) {
    return a->Name() < b->Name();
  });
  std::string text = absl::StrCat(absl::ProgramUsageMessage(), "\n\nFlags:\n");
  for (const absl::CommandLineFlag* flag : flags) {
    const bool boolean = flag->IsOfType<bool>();
    const std::string default_value = flag->DefaultValue();
    absl::StrAppend(&text, "  --", flag->Name(), boolean ? "" : "=VALUE", "\n      ", flag->Help());
    if (!boolean && !default_value.empty())
      absl::StrAppend(&text, " (default: ", default_value, ")");
    absl::StrAppend(&text, "\n");
  }
  return text;
}

std::vector<char*> ParseProgramCommandLine(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const absl::string_view argument = argv[i];
    if (argument == "--") break;
    if (argument == "--help" || argument == "-h" || argument == "--helpshort" ||
        argument == "--helpfull" || argument == "-help") {
      std::cout << ProgramUsageText();
      std::exit(0);
    }
  }
  return absl::ParseCommandLine(argc, argv);
}

}  // namespace l4d2
