#pragma once

// Pure parsers for /proc files, tested on fixture text.

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "agent/os/host_probe.h"

namespace l4d2::agent {

// /proc/meminfo: MemTotal and MemAvailable (kB) in bytes. INVALID_ARGUMENT when either is
// missing or malformed.
absl::StatusOr<MemoryFacts> ParseMeminfo(absl::string_view text);

// /proc/loadavg: the first field.
absl::StatusOr<double> ParseLoadavg(absl::string_view text);

}  // namespace l4d2::agent
