#pragma once

// OS capability: facts about the machine the agent runs on. The Linux implementation reads
// /proc and calls statvfs(2); tests hand in tests/fakes/fake_host_probe.h.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace l4d2::agent {

struct MemoryFacts {
  uint64_t total_bytes = 0;
  uint64_t available_bytes = 0;
};

struct DiskFacts {
  uint64_t total_bytes = 0;
  uint64_t free_bytes = 0;  // Available to unprivileged users (f_bavail).
};

class HostProbe {
 public:
  virtual ~HostProbe() = default;

  virtual absl::StatusOr<std::string> Hostname() = 0;
  // Changes on every boot (/proc/sys/kernel/random/boot_id).
  virtual absl::StatusOr<std::string> BootId() = 0;
  // CPUs this process may run on.
  virtual int CpuCount() = 0;
  virtual absl::StatusOr<MemoryFacts> Memory() = 0;
  // The file system holding `path`.
  virtual absl::StatusOr<DiskFacts> Disk(const std::string& path) = 0;
  virtual absl::StatusOr<double> LoadAverage1m() = 0;
  // Ports in [first, last] that a socket on the host has bound, whichever process holds it: UDP
  // sockets, and TCP ones listening, over IPv4 and IPv6. Sorted, each once. A game server binds
  // both on its port (UDP for the game and A2S, TCP for RCON), so either one takes the port.
  virtual absl::StatusOr<std::vector<int>> BoundPorts(int first, int last) = 0;
};

}  // namespace l4d2::agent
