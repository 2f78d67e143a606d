#pragma once

// The whole controller in one object, built from its config: the database (migrated), the
// fleet CA, the agent connector, the host report receiver, the HTTP API, the job scheduler, the
// host monitor and the reconciler. main.cc parses flags and the config, then Start, waits for a
// termination signal, and Stop; tests run it in-process the same way.

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common/clock.h"
#include "controller/config/controller_config.h"
#include "controller/store/database.h"

namespace l4d2::controller {

// Opens the database the config names and applies every migration (logging the schema
// version). Errors from Database::Open and ApplyMigrations.
absl::StatusOr<std::unique_ptr<Database>> OpenMigratedDatabase(const ControllerConfig& config,
                                                               Clock& clock);

// This process among the controllers sharing a database: the owner of its job leases and of
// the reconciler's lease ("<hostname>-<pid>-<start in unix µs>").
std::string ProcessOwnerName(Clock& clock);

class ControllerProcess {
 public:
  // Builds every part over `db` (already migrated) and starts it: the fleet CA and the
  // controller's certificate are made in pki_dir at the first start; HTTP and the report
  // receiver are bound (UNAVAILABLE naming the option when an address cannot be bound); the
  // scheduler, host monitor and reconciler run from here on.
  static absl::StatusOr<std::unique_ptr<ControllerProcess>> Start(const ControllerConfig& config,
                                                                  std::unique_ptr<Database> db,
                                                                  Clock& clock);
  ControllerProcess(const ControllerProcess&) = delete;
  ControllerProcess& operator=(const ControllerProcess&) = delete;
  // Stops whatever still runs.
  ~ControllerProcess();

  // The bound HTTP port, and the UDP port host reports arrive on (0: none).
  int http_port() const;
  int report_port() const;
  // Whether it serves: GET /healthz on its own HTTP port answers 200 within 5 s. The service
  // watchdog's check (the database is not: restarting would not bring it back).
  bool Healthy() const;

  // Stops the background loops first, then the report receiver, the scheduler (jobs in flight
  // finish), and the HTTP API. Idempotent.
  void Stop();

 private:
  struct Parts;
  explicit ControllerProcess(std::unique_ptr<Parts> parts);
  std::unique_ptr<Parts> parts_;
};

}  // namespace l4d2::controller
