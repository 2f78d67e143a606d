#pragma once

// The --help of our programs. Abseil's --help lists only the flags defined in a file named like
// the program (l4d2ctl.cc, ...), so our binaries, whose flags live in their main.cc, printed
// their usage followed by "No flags matched". This lists the program's own flags instead
// (everything not defined by Abseil itself), under the given usage text.

#include "absl/strings/string_view.h"

namespace l4d2 {

// Call once, before absl::ParseCommandLine.
void SetProgramUsage(absl::string_view usage);

}  // namespace l4d2
