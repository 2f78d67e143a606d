#include "controller/jobs/server_actions.h"

#include <optional>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "controller/jobs/job_kinds.h"
#include "soci/soci.h"

namespace l4d2::controller {
namespace {

absl::Status ValidateAction(const std::string& action) {
  for (const char* known : {"start", "stop", "restart", "reset", "delete"}) {
    if (action == known) return absl::OkStatus();
  }
  return absl::InvalidArgumentError(
      absl::StrCat("action '", action, "': expected start, stop, restart, reset or delete"));
}

// The desired state `action` implies, or nullopt when it leaves it alone.
std::optional<DesiredState> DesiredAfter(const std::string& action) {
  if (action == "start" || action == "restart") return DesiredState::kRunning;
  if (action == "stop") return DesiredState::kStopped;
  return std::nullopt;
}

absl::StatusOr<std::vector<std::string>> QueueAll(FleetStores& stores, const Actor& actor,
                                                  absl::Span<const std::string> ids,
                                                  const std::string& action, absl::Time first,
                                                  absl::Duration stagger) {
  std::vector<std::string> jobs;
  L4D2_RETURN_IF_ERROR(stores.db.Transact([&](soci::session& sql) -> absl::Status {
    L4D2_ASSIGN_OR_RETURN(jobs,
                          QueueServerActions(sql, stores, actor, ids, action, first, stagger));
    return absl::OkStatus();
  }));
  return jobs;
}

}  // namespace

absl::StatusOr<std::vector<std::string>> QueueServerActions(
    soci::session& sql, FleetStores& stores, const Actor& actor, absl::Span<const std::string> ids,
    const std::string& action, absl::Time first, absl::Duration stagger) {
  std::vector<std::string> jobs;
  absl::flat_hash_map<std::string, Server> found;
  for (Server& server : stores.servers.GetMany(sql, actor, ids)) {
    found.emplace(server.id, std::move(server));
  }
  for (const std::string& id : ids) {
    if (!found.contains(id)) return absl::NotFoundError(absl::StrCat("no server '", id, "'"));
  }
  if (const std::optional<DesiredState> desired = DesiredAfter(action); desired.has_value()) {
    stores.servers.SetDesired(sql, ids, *desired);
  }
  std::vector<NewJob> queued;
  queued.reserve(ids.size());
  for (size_t i = 0; i < ids.size(); ++i) {
    queued.push_back(ServerJob(action, ids[i], actor.Name(), first + stagger * i));
  }
  L4D2_ASSIGN_OR_RETURN(jobs, stores.jobs.Enqueue(sql, queued));
  std::vector<AuditEntry> entries;
  entries.reserve(ids.size());
  for (size_t i = 0; i < ids.size(); ++i) {
    const Server& server = found.at(ids[i]);
    entries.push_back({.actor = actor.Name(),
                       .action = "server." + action,
                       .target = server.id,
                       .detail = AuditDetail({{"name", server.name}, {"job", jobs[i]}}),
                       .owner = server.owner_id});
  }
  stores.audit.Append(sql, entries);
  return jobs;
}

absl::StatusOr<QueuedServerJob> CreateServer(FleetStores& stores, const Actor& actor,
                                             const std::string& name,
                                             const std::string& blueprint_id,
                                             DesiredState desired) {
  L4D2_ASSIGN_OR_RETURN(Server server, stores.servers.Create(actor, name, blueprint_id, desired));
  L4D2_ASSIGN_OR_RETURN(std::string job_id,
                        stores.jobs.Enqueue(ServerJob("create", server.id, actor.Name())));
  (void)stores.audit.Append(actor.Name(), "server.create", server.id,
                            AuditDetail({{"name", name},
                                         {"blueprint", blueprint_id},
                                         {"desired", DesiredStateName(desired)},
                                         {"job", job_id}}),
                            server.owner_id);
  return QueuedServerJob{std::move(server), std::move(job_id)};
}

absl::StatusOr<std::string> RequestServerAction(FleetStores& stores, const Actor& actor,
                                                const std::string& server_id,
                                                const std::string& action, absl::Time not_before) {
  L4D2_RETURN_IF_ERROR(ValidateAction(action));
  L4D2_ASSIGN_OR_RETURN(std::vector<std::string> jobs,
                        QueueAll(stores, actor, absl::MakeConstSpan(&server_id, 1), action,
                                 not_before, absl::ZeroDuration()));
  return std::move(jobs.front());
}

absl::StatusOr<std::string> ChangeBlueprint(FleetStores& stores, const Actor& actor,
                                            const std::string& server_id,
                                            const std::string& blueprint_id) {
  L4D2_ASSIGN_OR_RETURN(Server server, stores.servers.Get(actor, server_id));
  // Checked now for a clear error; the job checks again when it switches.
  L4D2_ASSIGN_OR_RETURN(Blueprint blueprint, stores.blueprints.Get(actor, blueprint_id));
  if (blueprint.owner_id != server.owner_id) {
    return absl::NotFoundError(absl::StrCat("no blueprint '", blueprint_id, "'"));
  }
  L4D2_ASSIGN_OR_RETURN(std::string job_id, stores.jobs.Enqueue(ChangeBlueprintJob(
                                                server.id, blueprint_id, actor.Name())));
  (void)stores.audit.Append(
      actor.Name(), "server.change_blueprint", server.id,
      AuditDetail({{"name", server.name}, {"blueprint", blueprint_id}, {"job", job_id}}),
      server.owner_id);
  return job_id;
}

absl::StatusOr<std::vector<std::string>> RequestBulkAction(FleetStores& stores, const Actor& actor,
                                                           const std::vector<std::string>& servers,
                                                           const std::string& action,
                                                           absl::Duration stagger) {
  L4D2_RETURN_IF_ERROR(ValidateAction(action));
  if (stagger < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("stagger: must not be negative");
  }
  const absl::flat_hash_set<std::string> distinct(servers.begin(), servers.end());
  if (distinct.size() != servers.size()) {
    return absl::InvalidArgumentError("server_ids: a server is named twice");
  }
  // One transaction (a 2,000-server restart is one commit, docs/benchmarks.md).
  return QueueAll(stores, actor, servers, action, stores.clock.Now(), stagger);
}

absl::StatusOr<std::vector<std::string>> SelectServers(FleetStores& stores, const Actor& actor,
                                                       const ServerFilter& filter) {
  if (filter.host_id.empty() && filter.blueprint_id.empty()) {
    return absl::InvalidArgumentError("selection: a host or a blueprint is required");
  }
  L4D2_ASSIGN_OR_RETURN(std::vector<Server> servers, stores.servers.List(actor, filter));
  std::vector<std::string> ids;
  for (const Server& server : servers) ids.push_back(server.id);
  return ids;
}

}  // namespace l4d2::controller
