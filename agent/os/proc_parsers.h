#pragma once

// Pure parsers for /proc files, tested on fixture text.

#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "agent/os/host_probe.h"

namespace l4d2::agent {

// /proc/meminfo: MemTotal and MemAvailable (kB) in bytes. INVALID_ARGUMENT when either is
// missing or malformed.
absl::StatusOr<MemoryFacts> ParseMeminfo(absl::string_view text);

// /proc/loadavg: the first field.
absl::StatusOr<double> ParseLoadavg(absl::string_view text);

// A socket table, /proc/net/{tcp,tcp6,udp,udp6}: the local ports of its sockets in
// [first, last], appended to `ports` (unsorted, possibly repeated). With `listening_only`, only
// sockets in state LISTEN (TCP's table; UDP sockets have no such state). INVALID_ARGUMENT for a
// line that is not a socket entry.
absl::Status AppendSocketPorts(absl::string_view table, bool listening_only, int first, int last,
                               std::vector<int>& ports);

}  // namespace l4d2::agent
