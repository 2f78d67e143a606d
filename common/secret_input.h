#pragma once

// Reading a secret (a password) typed by a person: never from the command line, where other
// users see it in the process list.

#include <string>

#include "absl/strings/string_view.h"

namespace l4d2 {

// The value of the environment variable `variable` when it is set (for scripts and CI);
// otherwise one line from standard input, after printing `prompt` to standard error and with
// the terminal's echo off when standard input is a terminal.
std::string ReadSecret(const char* variable, absl::string_view prompt);

}  // namespace l4d2
