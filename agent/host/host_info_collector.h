#pragma once

// Assembles the HostInfo message (in every host report, and GetHostInfo) from the host probe and
// the agent's directory tree. Thread-safe: it holds no mutable state.

#include <functional>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "agent/host/layout.h"
#include "agent/os/host_probe.h"
#include "l4d2/agent/v1/host.pb.h"

namespace l4d2::agent {

class HostInfoCollector {
 public:
  // Counts running instances (systemd's view); empty: not reported. Its failure leaves the
  // count at 0 (logged) rather than failing the heartbeat.
  using RunningCounter = std::function<absl::StatusOr<int>()>;
  // The ports the agent's instances hold (InstanceManager::HeldPorts); empty: none.
  using PortLister = std::function<std::vector<int>()>;

  // `probe` must outlive the collector.
  HostInfoCollector(HostProbe& probe, HostLayout layout, int port_first, int port_last,
                    absl::Time agent_started_at, RunningCounter running = nullptr,
                    PortLister held_ports = nullptr);

  // UNAVAILABLE when the OS cannot be read (e.g. /proc missing). A missing or unreadable
  // installation is not an error: installed_build_id is then empty.
  absl::StatusOr<v1::HostInfo> Collect() const;

 private:
  HostProbe& probe_;
  HostLayout layout_;
  int port_first_;
  int port_last_;
  absl::Time agent_started_at_;
  RunningCounter running_;
  PortLister held_ports_;
};

}  // namespace l4d2::agent
