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
};

}  // namespace l4d2::agent
