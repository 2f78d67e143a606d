#pragma once

// Hosts of the fleet (table `hosts`). A host is created by an admin in state `enrolling` with a
// one-time enrollment token (256 random bits, shown once, stored as its SHA-256, expiring);
// redeeming the token makes the host `ready` and the token unusable. Thread-safe.

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "controller/store/database.h"
#include "controller/store/page.h"

namespace l4d2::controller {

// An instance on a host that no server of the controller names: made on the agent directly
// (l4d2ctl, grpcurl) or left behind. Listed for operators; the controller never touches it.
struct UnmanagedInstance {
  std::string name;
  int port = 0;
  std::string state;  // as server states: running, stopped, crashed, ...

  friend bool operator==(const UnmanagedInstance&, const UnmanagedInstance&) = default;
};

struct Host {
  std::string id;
  std::string name;
  std::string address;  // the agent's gRPC address, host:port
  std::string state;    // enrolling, ready, draining, unreachable
  int max_instances = 0;
  int port_first = 0;
  int port_last = 0;
  std::string installed_build;
  int64_t memory_bytes = 0;  // total, as its agent last reported; 0 when unknown
  // Drained by an admin: keeps its servers, takes no new ones (whatever its health state).
  bool drained = false;
  // Its disk nearly full, as the host monitor last judged it (fleet/host_monitor.h).
  bool disk_low = false;
  std::optional<absl::Time> last_seen;
  absl::Time created_at;
  // When its agent's certificate expires; unset while enrolling (or for a certificate stored
  // before migration 14, until its renewal).
  std::optional<absl::Time> certificate_expires;
  // Ports of its range that are taken, sorted: as its agent last reported them (its instances'
  // and any other process's), and any a create found taken since. Placement skips them.
  std::vector<int> ports_in_use;
  // As the reconciler last saw them, by name.
  std::vector<UnmanagedInstance> unmanaged;
};

struct NewHost {
  std::string name;  // as instance names: ^[a-z0-9][a-z0-9_-]{0,63}$
  std::string address;
  int max_instances = 50;
  int port_first = 27015;
  int port_last = 27999;
};

// hosts.ports_in_use as stored: "27015,27016" (sorted); unparsable entries are skipped.
std::string EncodePorts(const std::vector<int>& ports);
std::vector<int> DecodePorts(absl::string_view text);

class HostStore {
 public:
  // `db` and `clock` must outlive the store.
  HostStore(Database& db, Clock& clock);

  // The new host and its enrollment token (the only time the token is seen). INVALID_ARGUMENT
  // for a bad name, address or port range; ALREADY_EXISTS for a taken name.
  absl::StatusOr<std::pair<Host, std::string>> Create(const NewHost& host,
                                                      absl::Duration token_ttl);
  // The host a valid token was made for, without spending it. UNAUTHENTICATED, with one
  // message, for an unknown, spent or expired token.
  absl::StatusOr<Host> FindByEnrollmentToken(const std::string& token);
  // The host the token was made for, now `ready` with `certificate_pem`'s SHA-256 as its
  // fingerprint; the token is spent. UNAUTHENTICATED as above.
  absl::StatusOr<Host> RedeemEnrollmentToken(const std::string& token,
                                             const std::string& certificate_pem = "");

  absl::StatusOr<Host> Get(const std::string& id);
  absl::StatusOr<std::vector<Host>> List();
  // A page by name then id, of one state ("" any), in one query.
  // With `server_counts`, also each host's count of servers placed on it, in the same order.
  absl::StatusOr<std::vector<Host>> List(const PageQuery& page, const std::string& state,
                                         std::vector<int>* server_counts = nullptr);
  // The certificate (PEM) issued to an enrolled host; NOT_FOUND for an unknown host, one still
  // enrolling, or one enrolled before the controller kept certificates (migration 7: such a
  // host is asked over gRPC until it enrolls again).
  absl::StatusOr<std::string> Certificate(const std::string& id);
  // Every enrolled host's certificate, by host id, in one query (renewal's round).
  absl::StatusOr<std::vector<std::pair<std::string, std::string>>> Certificates();
  // Stores a host's renewed certificate in place of `current_pem`. FAILED_PRECONDITION when
  // the host's certificate is no longer that one (revoked, enrolled again, or renewed by
  // another controller meanwhile): nothing changes.
  absl::Status ReplaceCertificate(const std::string& id, const std::string& current_pem,
                                  const std::string& renewed_pem);
  // Revokes a host's certificate: forgotten at once, so that its reports and any agent
  // presenting it are refused from now on; the host is `enrolling` again, with a new one-time
  // token (returned, the only time it is seen) for its agent to enroll with a new key. Its
  // servers stay placed on it. NOT_FOUND for an unknown host.
  absl::StatusOr<std::string> RevokeCertificate(const std::string& id, absl::Duration token_ttl);
  absl::Status SetInstalledBuild(const std::string& id, const std::string& build);
  absl::Status SetMemory(const std::string& id, int64_t memory_bytes);
  // Replaces the ports in use with an agent's report of them (sorted).
  absl::Status SetPortsInUse(const std::string& id, const std::vector<int>& ports);
  // Adds one port to them: a create met it taken before the next report could tell.
  absl::Status AddPortInUse(const std::string& id, int port);
  absl::Status SetUnmanaged(const std::string& id, const std::vector<UnmanagedInstance>& unmanaged);
  // Records when these hosts were last heard from (id, time); one transaction for all of them,
  // one UPDATE per 500 hosts.
  absl::Status MarkSeen(const std::vector<std::pair<std::string, absl::Time>>& sightings);
  // Moves a host from state `from` to `to`; FAILED_PRECONDITION when it is not in `from` any
  // more (another controller moved it).
  absl::Status SetState(const std::string& id, const std::string& from, const std::string& to);
  // NOT_FOUND for an unknown host.
  absl::Status SetDrained(const std::string& id, bool drained);
  // Marks the host's disk low (or not) if it is not already: true when this call changed it
  // (another controller's monitor may have come first).
  absl::StatusOr<bool> SetDiskLow(const std::string& id, bool low);
  // Forgets a host. FAILED_PRECONDITION while servers are placed on it; NOT_FOUND for an
  // unknown host.
  absl::Status Delete(const std::string& id);

 private:
  Database& db_;
  Clock& clock_;
};

}  // namespace l4d2::controller
