#pragma once

// CPU lists as the kernel and systemd write them ("0-3,6": /sys/devices/system/cpu/online,
// AllowedCPUs=, CPUAffinity=), and the cores the agent leaves to the host's own system (sshd,
// the agent, journald) when it places game servers and build work (server_limits.reserved_cpus).

#include <set>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace l4d2::agent {

// The CPUs of a list; INVALID_ARGUMENT for anything but comma-separated numbers and ranges
// below 4096 ("" is the empty set).
absl::StatusOr<std::set<int>> ParseCpuList(absl::string_view list);

// The shortest list of `cpus` ("0-2,5"); "" for none.
std::string FormatCpuList(const std::set<int>& cpus);

// The CPUs game servers and build work may run on: `online` (the kernel's list) less the
// reserved ones. `reserved` is "auto" (CPU 0 on hosts with 4 or more CPUs, none below: a
// 2-core host cannot give up half of itself), "none", or a list. "" means every online CPU
// (nothing to pin). INVALID_ARGUMENT for a bad list, and when nothing would be left.
absl::StatusOr<std::string> ServerCpus(absl::string_view online, absl::string_view reserved);

}  // namespace l4d2::agent
