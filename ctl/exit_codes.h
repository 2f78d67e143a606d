#pragma once

// l4d2ctl's exit codes, the same for every command (docs/l4d2ctl.md), and how a failure maps
// to one.

#include <ostream>

#include "absl/status/status.h"

namespace l4d2::ctl {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;  // the agent or controller refused, or the work failed
inline constexpr int kExitUsage = 2;
inline constexpr int kExitUnreachable = 3;

// Prints `status`'s message to `err`; the exit code for it: unreachable (UNAVAILABLE,
// DEADLINE_EXCEEDED) or failed.
inline int ReportFailure(std::ostream& err, const absl::Status& status) {
  err << "l4d2ctl: " << status.message() << "\n";
  if (absl::IsUnavailable(status) || absl::IsDeadlineExceeded(status)) return kExitUnreachable;
  return kExitFailed;
}

}  // namespace l4d2::ctl
