#pragma once

// The fleet's game-update settings (docs/updates.md), rows of the `settings` table (beside the
// leases'): the update policy admins set ("update_policy", an UpdatePolicy) and what the update
// checks keep between them ("update_state", an UpdateState), each as its message's JSON with a
// revision that grows with every write. The jobs that act on them are
// controller/jobs/game_update.h's. Thread-safe.

#include <string>

#include "absl/status/statusor.h"
#include "common/clock.h"
#include "controller/store/audit_log.h"
#include "controller/store/database.h"
#include "l4d2/controller/v1/updates.pb.h"

namespace l4d2::controller {

// A setting as read, with the revision a compare-and-set names (0: never written).
template <typename Message>
struct Versioned {
  Message value;
  int64_t revision = 0;
};

// The policy of a fleet nobody configured: notify; if made rolling, a 2 h deadline, a warning
// 5 min before it, 2 servers at a time.
v1::UpdatePolicy DefaultUpdatePolicy();

// The mode that applies to a host: its own (host_modes) or the fleet's.
std::string HostUpdateMode(const v1::UpdatePolicy& policy, const std::string& host_id);

// The policy and the state together, as the updates page shows them.
struct UpdateSettings {
  v1::UpdatePolicy policy;
  Versioned<v1::UpdateState> state;
};

class GameUpdateStore {
 public:
  // Everything must outlive the store.
  GameUpdateStore(Database& db, Clock& clock, AuditLog& audit);

  // The policy (the defaults where never set).
  absl::StatusOr<v1::UpdatePolicy> Policy();
  // Checks and replaces the policy, audited ("updates.policy") with it; nothing changes on an
  // error. Unset fields take the defaults. INVALID_ARGUMENT naming the field (an unknown mode,
  // durations out of range, a host_modes entry for no host).
  absl::StatusOr<v1::UpdatePolicy> SetPolicy(const std::string& actor, v1::UpdatePolicy policy);

  absl::StatusOr<Versioned<v1::UpdateState>> State();
  // Both, in one read of the settings table.
  absl::StatusOr<UpdateSettings> Settings();
  absl::StatusOr<Versioned<v1::UpdateState>> State(soci::session& sql);
  // Writes the state if its revision is still `revision`, within the caller's transaction;
  // false when another writer came first (nothing written).
  absl::StatusOr<bool> SaveState(soci::session& sql, const v1::UpdateState& state,
                                 int64_t revision);

 private:
  Database& db_;
  Clock& clock_;
  AuditLog& audit_;
};

}  // namespace l4d2::controller
