#pragma once

// ServiceManager over D-Bus with libsystemd's sd-bus, straight to the manager's private socket
// (/run/systemd/private for the system manager, root only; $XDG_RUNTIME_DIR/systemd/private
// for a user manager): no systemctl process per call, no bus daemon in between. A start or
// stop subscribes to the manager's signals, queues the job and waits for its JobRemoved, as
// systemctl does; reads are GetUnit and the Unit and Service properties (GetAll), for many
// units at once pipelined on one connection: two round trips for an agent's whole report.
//
// Thread-safe: each call opens its own connection (a fraction of a millisecond on the private
// socket), so a long stop never holds up other calls.

#include <string>

#include "absl/time/time.h"
#include "agent/os/service_manager.h"

namespace l4d2::agent {

struct SdBusOptions {
  // A D-Bus address, e.g. "unix:path=/run/systemd/private".
  std::string address = "unix:path=/run/systemd/private";
  // How long one call may take (a stop waits for the unit's own stop timeout).
  absl::Duration timeout = absl::Seconds(90);
};

class SdBusServiceManager final : public ServiceManager {
 public:
  explicit SdBusServiceManager(SdBusOptions options);

  absl::Status Start(const std::string& unit) override;
  absl::Status Stop(const std::string& unit) override;
  absl::Status Signal(const std::string& unit, int signal) override;
  absl::Status ResetFailed(const std::string& unit) override;
  absl::StatusOr<UnitFacts> Facts(const std::string& unit) override;
  std::vector<absl::StatusOr<UnitFacts>> FactsOfAll(const std::vector<std::string>& units) override;
  absl::Status Reload() override;
  absl::StatusOr<std::vector<UnitListing>> ListUnits(const std::string& pattern) override;

 private:
  absl::Status RunJob(const char* method, const std::string& unit);

  SdBusOptions options_;
};

}  // namespace l4d2::agent
