#pragma once

// Operators' intents for servers, turned into jobs: the one place that sets the desired state
// an action implies, queues the job and records it in the audit log. The HTTP API, l4d2ctl and
// bulk actions all come through here.
//
//   create    a new server of the actor on one of their blueprints, placed and initialized by
//             its job, started too when `desired` is running
//   start     desired running         restart   desired running
//   stop      desired stopped         reset     desired unchanged
//   delete    the server goes once its instance is gone from its host
//   change_blueprint (ChangeBlueprint) desired unchanged

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "controller/store/actor.h"
#include "controller/store/fleet_stores.h"

namespace l4d2::controller {

struct QueuedServerJob {
  Server server;
  std::string job_id;
};

// Sets the desired state `action` implies, queues the action's job and audits it for every
// server of `ids` (distinct), within the caller's transaction on `sql`: together with what the
// caller records, or not at all. The i-th job is due at `first` + `stagger` * i (at once when
// that has passed). NOT_FOUND when the actor does not see one of them (the caller rolls back).
absl::StatusOr<std::vector<std::string>> QueueServerActions(
    soci::session& sql, FleetStores& stores, const Actor& actor, absl::Span<const std::string> ids,
    const std::string& action, absl::Time first, absl::Duration stagger);

// Creates the server and queues its "server.create". Errors as ServerStore::Create.
absl::StatusOr<QueuedServerJob> CreateServer(FleetStores& stores, const Actor& actor,
                                             const std::string& name,
                                             const std::string& blueprint_id, DesiredState desired);

// One of start, stop, restart, reset, delete for a server the actor sees (NOT_FOUND
// otherwise; INVALID_ARGUMENT for another action). The job's id.
absl::StatusOr<std::string> RequestServerAction(FleetStores& stores, const Actor& actor,
                                                const std::string& server_id,
                                                const std::string& action,
                                                absl::Time not_before = absl::InfinitePast());

// The server takes another of its owner's blueprints at its job.
absl::StatusOr<std::string> ChangeBlueprint(FleetStores& stores, const Actor& actor,
                                            const std::string& server_id,
                                            const std::string& blueprint_id);

// The same action for every server of `servers` (all checked first: one the actor does not see
// queues nothing), the i-th due `stagger` * i from now, so that a fleet restarts a few servers
// at a time instead of all at once. The jobs' ids, in order.
absl::StatusOr<std::vector<std::string>> RequestBulkAction(FleetStores& stores, const Actor& actor,
                                                           const std::vector<std::string>& servers,
                                                           const std::string& action,
                                                           absl::Duration stagger);

// Ids of the servers the actor sees on a host or of a blueprint (whichever is set), for bulk
// actions.
absl::StatusOr<std::vector<std::string>> SelectServers(FleetStores& stores, const Actor& actor,
                                                       const ServerFilter& filter);

}  // namespace l4d2::controller
