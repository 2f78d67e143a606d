#pragma once

// l4d2ctl's exit codes, the same for every command (docs/l4d2ctl.md).

namespace l4d2::ctl {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;  // the agent or controller refused, or the work failed
inline constexpr int kExitUsage = 2;
inline constexpr int kExitUnreachable = 3;

}  // namespace l4d2::ctl
