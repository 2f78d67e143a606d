#include "agent/config/agent_programs.h"

#include <algorithm>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "common/version.h"

namespace l4d2::agent {
namespace {

// The words of an ExecStart-style command that name programs: the first (after systemd's exec
// prefixes) and the last, when it is another absolute path (nsenter ... -- HELPER).
std::vector<std::string> CommandPrograms(absl::string_view command) {
  std::vector<std::string> words = absl::StrSplit(command, ' ', absl::SkipEmpty());
  std::vector<std::string> programs;
  if (words.empty()) return programs;
  absl::string_view first = words.front();
  first.remove_prefix(std::min(first.find_first_not_of("+-@!:"), first.size()));
  programs.emplace_back(first);
  if (words.size() > 1 && words.back().front() == '/' && words.back() != first) {
    programs.push_back(words.back());
  }
  return programs;
}

}  // namespace

AgentPrograms ResolvePrograms(const AgentConfig& config) {
  return {
      .overlay_command = !config.overlay_helper.empty()
                             ? config.overlay_helper
                             : absl::StrCat("+/usr/bin/nsenter --mount=/proc/1/ns/mnt -- ",
                                            kInstalledOverlayHelper),
      .console_helper =
          !config.console_helper.empty() ? config.console_helper : kInstalledConsoleHelper,
      .fetch_helper = !config.fetch_helper.empty() ? config.fetch_helper : kInstalledFetchHelper,
  };
}

absl::Status CheckPrograms(const AgentPrograms& programs,
                           const std::function<bool(const std::string&)>& executable) {
  std::vector<std::pair<absl::string_view, std::string>> needed;
  for (std::string& program : CommandPrograms(programs.overlay_command)) {
    needed.emplace_back("systemd.overlay_helper", std::move(program));
  }
  needed.emplace_back("systemd.console_helper", programs.console_helper);
  needed.emplace_back("fetch_helper", programs.fetch_helper);
  for (const auto& [key, path] : needed) {
    if (path.empty() || path.front() != '/' || !executable(path)) {
      return absl::FailedPreconditionError(absl::StrCat(
          key, ": '", path,
          "' is missing or not executable; install it (cmake --install, the left4me package) or "
          "point ",
          key, " at it (docs/operations.md)"));
    }
  }
  return absl::OkStatus();
}

}  // namespace l4d2::agent
