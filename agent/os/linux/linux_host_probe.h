#pragma once

#include "agent/os/host_probe.h"

namespace l4d2::agent {

// HostProbe for Linux: /proc, sched_getaffinity(2), statvfs(2). Stateless and thread-safe.
class LinuxHostProbe final : public HostProbe {
 public:
  absl::StatusOr<std::string> Hostname() override;
  absl::StatusOr<std::string> BootId() override;
  int CpuCount() override;
  absl::StatusOr<MemoryFacts> Memory() override;
  absl::StatusOr<DiskFacts> Disk(const std::string& path) override;
  absl::StatusOr<double> LoadAverage1m() override;
  // From /proc/net/{udp,udp6,tcp,tcp6} (the agent's network namespace: the host's); a table
  // missing (IPv6 disabled) counts as empty.
  absl::StatusOr<std::vector<int>> BoundPorts(int first, int last) override;
};

// The IPv4 addresses of the host's interfaces that are up, loopback left out, in the kernel's
// order (getifaddrs(3)), dotted. The game log listener's "auto" address is the first.
absl::StatusOr<std::vector<std::string>> HostIpv4Addresses();

}  // namespace l4d2::agent
