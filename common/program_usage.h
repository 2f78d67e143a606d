#pragma once

// The --help of our programs: the program's usage text and its own flags, nothing of Abseil's
// (its --help would add flags of its own files and end with "Try --helpfull ...").

#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace l4d2 {

// Call once, before ParseProgramCommandLine.
void SetProgramUsage(absl::string_view usage);

// absl::ParseCommandLine, after answering --help, -h, --helpshort and --helpfull with the usage
// and the program's own flags (every flag not defined by Abseil), on standard output, then
// exiting 0.
std::vector<char*> ParseProgramCommandLine(int argc, char** argv);

// The text --help prints (for tests).
std::string ProgramUsageText();

}  // namespace l4d2
