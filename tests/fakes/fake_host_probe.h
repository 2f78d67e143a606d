#pragma once

// A HostProbe with facts set by the test; any fact can be made to fail.

#include <vector>

#include "absl/status/status.h"
#include "agent/os/host_probe.h"

namespace l4d2::testing {

class FakeHostProbe final : public agent::HostProbe {
 public:
  std::string hostname = "test-host";
  std::string boot_id = "0b0b0b0b-1111-2222-3333-444444444444";
  int cpus = 4;
  agent::MemoryFacts memory{.total_bytes = 8ull << 30, .available_bytes = 6ull << 30};
  agent::DiskFacts disk{.total_bytes = 100ull << 30, .free_bytes = 40ull << 30};
  double load = 0.25;
  // When set, Memory() fails with it.
  absl::Status memory_error;

  absl::StatusOr<std::string> Hostname() override { return hostname; }
  absl::StatusOr<std::string> BootId() override { return boot_id; }
  int CpuCount() override { return cpus; }
  absl::StatusOr<agent::MemoryFacts> Memory() override {
    if (!memory_error.ok()) return memory_error;
    return memory;
  }
  absl::StatusOr<agent::DiskFacts> Disk(const std::string& path) override {
    last_disk_path = path;
    return disk;
  }
  absl::StatusOr<double> LoadAverage1m() override { return load; }
  // Ports some other process holds; BoundPorts answers those in the range asked.
  std::vector<int> bound_ports;
  absl::StatusOr<std::vector<int>> BoundPorts(int first, int last) override {
    std::vector<int> in_range;
    for (int port : bound_ports) {
      if (port >= first && port <= last) in_range.push_back(port);
    }
    return in_range;
  }

  std::string last_disk_path;
};

}  // namespace l4d2::testing
