#pragma once

// Pure parsers of what steamcmd prints, tested on fixture text from real output.
//
//   " Update state (0x61) downloading, progress: 12.34 (123456789 / 1000000000)"
//   "Success! App '222860' fully installed."
//   "Success! App '222860' already up to date."
//   "ERROR! Failed to install app '222860' (Invalid platform)"
//   "FAILED (Invalid Password)"        (after "Logging in user ...")
//
// and the KeyValues block of `+app_info_print <app>`.

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace l4d2::agent {

struct SteamcmdLine {
  enum class Kind {
    kOther,     // Anything else: kept as a log line.
    kProgress,  // An "Update state" line.
    kSuccess,   // "Success! App '<app>' ..."
    kError,     // "ERROR! ..." or a failed login.
  };
  Kind kind = Kind::kOther;
  // kProgress: the state code ("0x61"), the phase ("downloading", "verifying update"), the
  // percentage and byte counts as printed.
  std::string state;
  std::string phase;
  double percent = 0;
  uint64_t bytes_done = 0;
  uint64_t bytes_total = 0;
  // kSuccess: whether nothing had to be downloaded.
  bool already_up_to_date = false;
  // kError: the text after "ERROR! " (or the whole failed-login line).
  std::string message;
};

// Classifies one line of output (without its newline).
SteamcmdLine ParseSteamcmdLine(absl::string_view line);

// The build id of `branch` ("public" when empty) of `app` in the output of
// `+app_info_print <app>`. NOT_FOUND when the output has no such branch, INVALID_ARGUMENT when
// the KeyValues block is malformed.
absl::StatusOr<std::string> ParseAppInfoBuildId(absl::string_view output, absl::string_view app,
                                                absl::string_view branch);

}  // namespace l4d2::agent
