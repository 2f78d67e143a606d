#include "controller/jobs/server_actions.h"

#include <optional>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "controller/jobs/job_kinds.h"

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

absl::StatusOr<std::string> Queue(FleetStores& stores, const Actor& actor, const Server& server,
                                  const std::string& action, absl::Time not_before) {
  if (const std::optional<DesiredState> desired = DesiredAfter(action); desired.has_value()) {
    L4D2_RETURN_IF_ERROR(stores.servers.SetDesired(server.id, *desired));
  }
  L4D2_ASSIGN_OR_RETURN(std::string job_id, stores.jobs.Enqueue(ServerJob(
                                                action, server.id, actor.Name(), not_before)));
  (void)stores.audit.Append(actor.Name(), "server." + action, server.id,
                            AuditDetail({{"name", server.name}, {"job", job_id}}), server.owner_id);
  return job_id;
}

}  // namespace

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
  L4D2_ASSIGN_OR_RETURN(Server server, stores.servers.Get(actor, server_id));
  return Queue(stores, actor, server, action, not_before);
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
  std::vector<Server> found;
  for (const std::string& id : servers) {
    L4D2_ASSIGN_OR_RETURN(Server server, stores.servers.Get(actor, id));
    found.push_back(std::move(server));
  }
  const absl::Time now = stores.clock.Now();
  std::vector<std::string> jobs;
  for (size_t i = 0; i < found.size(); ++i) {
    L4D2_ASSIGN_OR_RETURN(std::string job_id,
                          Queue(stores, actor, found[i], action, now + stagger * i));
    jobs.push_back(std::move(job_id));
  }
  return jobs;
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
