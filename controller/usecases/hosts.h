#pragma once

// Operators' intents for hosts (admins): the one place that validates, writes and audits them,
// for the HTTP API and the controller's command line alike. `by` is the audit log's actor
// ("user:<id>", "cli").

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "controller/store/fleet_stores.h"

namespace l4d2::controller {

struct CreatedHost {
  Host host;
  std::string enrollment_token;  // shown this once
  absl::Time token_expires_at;
  std::string enroll_command;  // what to run on the host, TOKEN_FILE holding the token
};

// A new host, enrolling until its token expires. Errors as HostStore::Create.
// `ca_pin` (tls::CaPin of the fleet CA; "" when unknown) goes into the command.
absl::StatusOr<CreatedHost> CreateHost(FleetStores& stores, const std::string& by,
                                       const NewHost& host, absl::Duration token_ttl,
                                       const std::string& controller_url,
                                       const std::string& ca_pin = "");

// Revokes a host's certificate (HostStore::RevokeCertificate): the host is `enrolling` again,
// with a new token and command for its agent to enroll with a new key. NOT_FOUND.
absl::StatusOr<CreatedHost> RevokeHostCertificate(FleetStores& stores, const std::string& by,
                                                  const std::string& id, absl::Duration token_ttl,
                                                  const std::string& controller_url,
                                                  const std::string& ca_pin = "");

// What to run on the host for a controller at `controller_url`: `l4d2-agent join` with the
// CA's pin (enrollment, configuration and the unit started in one command), or, without a pin,
// `l4d2-agent enroll`.
std::string EnrollCommand(const std::string& controller_url, const std::string& ca_pin = "");

// Drains (no new servers placed) or undrains a host. NOT_FOUND for an unknown host.
absl::Status SetHostDrained(FleetStores& stores, const std::string& by, const std::string& id,
                            bool drained);

// Forgets a host. FAILED_PRECONDITION while servers are placed on it; NOT_FOUND.
absl::Status DeleteHost(FleetStores& stores, const std::string& by, const std::string& id);

struct GameInstall {
  bool validate = false;
  std::string branch;  // "" is public
};
// Queues installing or updating the game on the host; the job's id. NOT_FOUND.
absl::StatusOr<std::string> InstallGame(FleetStores& stores, const std::string& by,
                                        const std::string& id, const GameInstall& install);

}  // namespace l4d2::controller
