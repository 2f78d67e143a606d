#include "controller/jobs/job_kinds.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "common/status_macros.h"
#include "controller/jobs/game_update.h"
#include "controller/jobs/schedule_run.h"
#include "controller/jobs/server_backups.h"
#include "controller/jobs/webhook_delivery.h"
#include "l4d2/controller/v1/jobs.pb.h"
#include "rpc/proto_json.h"
#include "spec/ports.h"

namespace l4d2::controller {

std::string ShortList(const std::vector<std::string>& names) {
  constexpr size_t kShown = 20;
  if (names.size() <= kShown) return absl::StrJoin(names, ", ");
  return absl::StrCat(absl::StrJoin(names.begin(), names.begin() + kShown, ", "), " and ",
                      names.size() - kShown, " more");
}

NewJob ServerJob(const std::string& action, const std::string& server_id,
                 const std::string& created_by, absl::Time not_before) {
  v1::ServerJobParams params;
  params.set_server_id(server_id);
  return {.kind = "server." + action,
          .lock_key = "server:" + server_id,
          .params = ToJson(params),
          .created_by = created_by,
          .not_before = not_before};
}

NewJob ChangeBlueprintJob(const std::string& server_id, const std::string& blueprint_id,
                          const std::string& created_by) {
  v1::ServerChangeBlueprintParams params;
  params.set_server_id(server_id);
  params.set_blueprint_id(blueprint_id);
  return {.kind = "server.change_blueprint",
          .lock_key = "server:" + server_id,
          .params = ToJson(params),
          .created_by = created_by};
}

NewJob OverlaySyncJob(const std::string& overlay_id, const std::string& host_id,
                      const std::string& created_by) {
  v1::OverlaySyncParams params;
  params.set_overlay_id(overlay_id);
  params.set_host_id(host_id);
  // One sync of a host at a time (overlay syncs and installs both write its layers).
  return {.kind = "overlay.sync",
          .lock_key = "sync:" + overlay_id + ":" + host_id,
          .params = ToJson(params),
          .created_by = created_by};
}

NewJob HostInstallJob(const std::string& host_id, const std::string& created_by) {
  v1::HostInstallParams params;
  params.set_host_id(host_id);
  return {.kind = "host.install",
          .lock_key = "install:" + host_id,
          .params = ToJson(params),
          .created_by = created_by};
}

namespace {

absl::StatusOr<std::string> HostInstall(const JobContext& context, const Job& job,
                                        AgentCall& call) {
  L4D2_ASSIGN_OR_RETURN(v1::HostInstallParams params, FromJson<v1::HostInstallParams>(job.params));
  L4D2_ASSIGN_OR_RETURN(Host host, context.stores.hosts.Get(params.host_id()));
  agent::v1::InstallRequest request;
  request.set_operation_id(job.id + ":install");
  request.set_validate(params.validate());
  request.set_branch(params.branch());
  L4D2_ASSIGN_OR_RETURN(agent::v1::InstallResult installed,
                        context.agents.Install(host, request, call));
  // Written only when it changed; last_seen is the health monitor's.
  if (installed.build_id() != host.installed_build) {
    L4D2_RETURN_IF_ERROR(context.stores.hosts.SetInstalledBuild(host.id, installed.build_id()));
  }
  v1::HostInstallResult result;
  result.set_build_id(installed.build_id());
  result.set_changed(installed.changed());
  return ToJson(result);
}

// Brings `host` to the current revision of `overlay_id`; the agent's result.
absl::StatusOr<agent::v1::OverlaySyncResult> SyncToHost(const JobContext& context, const Job& job,
                                                        AgentCall& call,
                                                        const std::string& overlay_id,
                                                        const Host& host, int64_t* revision) {
  L4D2_ASSIGN_OR_RETURN(Overlay overlay, context.stores.overlays.Get(Actor::System(), overlay_id));
  *revision = overlay.revision;
  agent::v1::SyncOverlayRequest request = overlay.source;
  // The revision is part of the step: a changed definition is a new sync, a retry is not.
  request.set_operation_id(absl::StrCat(job.id, ":sync:", overlay.id, ":", overlay.revision));
  request.set_ref(overlay.ref);
  L4D2_ASSIGN_OR_RETURN(agent::v1::OverlaySyncResult synced,
                        context.agents.SyncOverlay(host, request, call));
  L4D2_RETURN_IF_ERROR(
      context.stores.overlays.RecordSync(overlay.id, host.id, overlay.revision, synced.version()));
  return synced;
}

absl::StatusOr<std::string> OverlaySync(const JobContext& context, const Job& job,
                                        AgentCall& call) {
  L4D2_ASSIGN_OR_RETURN(v1::OverlaySyncParams params,
                        FromJson<v1::OverlaySyncParams>(job.params, "job parameters"));
  L4D2_ASSIGN_OR_RETURN(Host host, context.stores.hosts.Get(params.host_id()));
  int64_t revision = 0;
  L4D2_ASSIGN_OR_RETURN(agent::v1::OverlaySyncResult synced,
                        SyncToHost(context, job, call, params.overlay_id(), host, &revision));
  v1::OverlaySyncJobResult result;
  result.set_revision(revision);
  result.set_version(synced.version());
  result.set_changed(synced.changed());
  return ToJson(result);
}

// Syncs every overlay of the blueprint the host is behind on, then initializes the server's
// instance with the blueprint's spec.
absl::Status PrepareInstance(const JobContext& context, const Job& job, AgentCall& call,
                             const Server& server, const Host& host) {
  FleetStores& stores = context.stores;
  L4D2_ASSIGN_OR_RETURN(Blueprint blueprint,
                        stores.blueprints.Get(Actor::System(), server.blueprint_id));
  for (const BlueprintOverlay& layer : blueprint.overlays) {
    L4D2_ASSIGN_OR_RETURN(Overlay overlay, stores.overlays.Get(Actor::System(), layer.overlay_id));
    L4D2_ASSIGN_OR_RETURN(std::optional<OverlayOnHost> on_host,
                          stores.overlays.OnHost(overlay.id, host.id));
    if (on_host && on_host->revision >= overlay.revision) continue;
    call.Event("step", absl::StrCat("sync overlay ", overlay.ref));
    int64_t revision = 0;
    L4D2_RETURN_IF_ERROR(SyncToHost(context, job, call, overlay.id, host, &revision).status());
  }
  L4D2_ASSIGN_OR_RETURN(agent::v1::InstanceSpec spec,
                        stores.blueprints.SpecFor(server.blueprint_id, server.port));
  agent::v1::InitializeInstanceRequest request;
  request.set_operation_id(job.id + ":init");
  request.set_name(server.name);
  *request.mutable_spec() = spec;
  return context.agents.InitializeInstance(host, request, call).status();
}

// A request naming the server's instance, with the step's operation id "<job>:<step>".
template <typename Request>
Request For(const Job& job, const Server& server, const std::string& step) {
  Request request;
  request.set_operation_id(absl::StrCat(job.id, ":", step));
  request.set_name(server.name);
  return request;
}

// What the instance must do for `action` on a placed server whose instance is prepared (or,
// for stop and reset, whatever it holds); the instance as the agent then reports it.
absl::StatusOr<agent::v1::Instance> InstanceStep(const JobContext& context, const Job& job,
                                                 AgentCall& call, const std::string& action,
                                                 const Server& server, const Host& host) {
  AgentClient& agents = context.agents;
  if (action == "stop") {
    return agents.StopInstance(host, For<agent::v1::StopInstanceRequest>(job, server, "stop"),
                               call);
  }
  if (action == "reset") {
    return agents.ResetInstance(host, For<agent::v1::ResetInstanceRequest>(job, server, "reset"),
                                call);
  }
  L4D2_RETURN_IF_ERROR(PrepareInstance(context, job, call, server, host));
  if (action == "start" || (action == "create" && server.desired_state == DesiredState::kRunning)) {
    return agents.StartInstance(host, For<agent::v1::StartInstanceRequest>(job, server, "start"),
                                call);
  }
  if (action == "restart") {
    return agents.RestartInstance(
        host, For<agent::v1::RestartInstanceRequest>(job, server, "restart"), call);
  }
  agent::v1::GetInstanceRequest get;
  get.set_name(server.name);
  return agents.GetInstance(host, get, call);
}

// Marks the port of a placed `server` taken on its host and takes the server off it: placed
// again, it goes around that port.
absl::Status UnplaceFromTakenPort(FleetStores& stores, const Server& server) {
  L4D2_RETURN_IF_ERROR(stores.hosts.AddPortInUse(server.host_id, server.port));
  return stores.servers.Unplace(server.id);
}

// FAILED_PRECONDITION "players on: ..." when the game has players in it now: its log's (the
// agent's live list) or A2S's count, asked just before a restart that must not interrupt a game.
absl::Status RefuseWithPlayers(const JobContext& context, AgentCall& call, const Server& server,
                               const Host& host) {
  agent::v1::ListPlayerEventsRequest events;
  events.set_name(server.name);
  events.set_limit(1);
  absl::StatusOr<agent::v1::ListPlayerEventsResponse> logged =
      context.agents.ListPlayerEvents(host, events, call);
  if (absl::IsCancelled(logged.status())) return logged.status();
  agent::v1::GetInstanceRequest get;
  get.set_name(server.name);
  L4D2_ASSIGN_OR_RETURN(agent::v1::Instance instance, context.agents.GetInstance(host, get, call));
  const int in_log = logged.ok() ? logged->players_size() : 0;
  const int in_a2s = instance.status().game().players();
  if (in_log == 0 && in_a2s == 0) return absl::OkStatus();
  std::vector<std::string> names;
  if (logged.ok()) {
    for (const agent::v1::LivePlayer& player : logged->players()) names.push_back(player.name());
  }
  return absl::FailedPreconditionError(absl::StrCat("players on: ", std::max(in_log, in_a2s),
                                                    names.empty() ? "" : " (", ShortList(names),
                                                    names.empty() ? "" : ")", "; not restarted"));
}

absl::StatusOr<std::string> ServerAction(const JobContext& context, const Job& job,
                                         AgentCall& call) {
  FleetStores& stores = context.stores;
  std::string server_id, blueprint_id;
  bool only_when_empty = false;
  if (job.kind == "server.change_blueprint") {
    L4D2_ASSIGN_OR_RETURN(v1::ServerChangeBlueprintParams params,
                          FromJson<v1::ServerChangeBlueprintParams>(job.params, "job parameters"));
    server_id = params.server_id();
    blueprint_id = params.blueprint_id();
  } else {
    L4D2_ASSIGN_OR_RETURN(v1::ServerJobParams params,
                          FromJson<v1::ServerJobParams>(job.params, "job parameters"));
    server_id = params.server_id();
    only_when_empty = params.only_when_empty();
  }
  const std::string action(absl::StripPrefix(job.kind, "server."));
  const bool known = action == "create" || action == "start" || action == "stop" ||
                     action == "restart" || action == "reset" || action == "delete" ||
                     action == "change_blueprint";
  if (!known) return absl::InvalidArgumentError(absl::StrCat("unknown job kind '", job.kind, "'"));
  v1::ServerJobResult result;
  absl::StatusOr<Server> found = stores.servers.Get(Actor::System(), server_id);
  if (action == "delete" && absl::IsNotFound(found.status())) {
    result.set_state("deleted");  // A retry after the server was forgotten.
    return ToJson(result);
  }
  L4D2_ASSIGN_OR_RETURN(Server server, std::move(found));
  if (action == "change_blueprint") {
    L4D2_RETURN_IF_ERROR(stores.servers.SetBlueprint(server.id, blueprint_id));
    server.blueprint_id = blueprint_id;
  }
  const bool places = action == "create" || action == "start" || action == "restart";
  const bool placed_now = places && server.host_id.empty();
  if (placed_now) {
    L4D2_ASSIGN_OR_RETURN(server, stores.servers.Place(server.id, context.placement));
    call.Event("step", absl::StrCat("placed on host ", server.host_id, " port ", server.port));
  }
  if (server.host_id.empty()) {
    // Never placed: nothing runs anywhere.
    if (action == "delete") {
      L4D2_RETURN_IF_ERROR(stores.servers.Remove(server.id));
      result.set_state("deleted");
    } else {
      result.set_state("stopped");
    }
    return ToJson(result);
  }
  L4D2_ASSIGN_OR_RETURN(Host host, stores.hosts.Get(server.host_id));
  result.set_host_id(host.id);
  result.set_port(server.port);
  if (host.state == "unreachable") {
    // Retried with backoff; the server stays on its host whatever happens.
    return absl::UnavailableError(absl::StrCat("host '", host.name, "' is unreachable"));
  }
  if (action == "delete") {
    L4D2_RETURN_IF_ERROR(context.agents.DeleteInstance(
        host, For<agent::v1::DeleteInstanceRequest>(job, server, "delete"), call));
    L4D2_RETURN_IF_ERROR(stores.servers.Remove(server.id));
    result.set_state("deleted");
    return ToJson(result);
  }
  if (only_when_empty && action == "restart") {
    L4D2_RETURN_IF_ERROR(RefuseWithPlayers(context, call, server, host));
  }
  absl::StatusOr<agent::v1::Instance> instance =
      InstanceStep(context, job, call, action, server, host);
  if (placed_now && spec::TakenPort(instance.status()) == server.port) {
    // Taken on the host since its last report (an instance made on the agent directly, another
    // process): placed again around it, once. The second try's agent operations get ids of
    // their own ("<job>.2:init"): the first ones' outcome is recorded under theirs.
    const std::string first = absl::StrCat("port ", server.port, " on host ", host.name);
    call.Event("step", absl::StrCat(first, ": ", instance.status().message(), "; placing again"));
    L4D2_RETURN_IF_ERROR(UnplaceFromTakenPort(stores, server));
    L4D2_ASSIGN_OR_RETURN(server, stores.servers.Place(server.id, context.placement));
    call.Event("step", absl::StrCat("placed on host ", server.host_id, " port ", server.port));
    L4D2_ASSIGN_OR_RETURN(host, stores.hosts.Get(server.host_id));
    result.set_host_id(host.id);
    result.set_port(server.port);
    Job again = job;
    again.id += ".2";
    instance = InstanceStep(context, again, call, action, server, host);
    if (spec::TakenPort(instance.status()) == server.port) {
      const std::string second = absl::StrCat("port ", server.port, " on host ", host.name);
      // Left unplaced: starting it again places it anew, around both.
      L4D2_RETURN_IF_ERROR(UnplaceFromTakenPort(stores, server));
      return absl::FailedPreconditionError(absl::StrCat(
          first, " and ", second, " were both taken when the server was about to use them (",
          instance.status().message(),
          "); the server is left unplaced: start it again to place it on another port"));
    }
  }
  L4D2_RETURN_IF_ERROR(instance.status());
  result.set_state(ServerStateName(FromInstanceState(instance->status().state())));
  return ToJson(result);
}

}  // namespace

absl::StatusOr<JobOutcome> RunJob(const JobContext& context, const Job& job, AgentCall& call) {
  absl::StatusOr<std::string> result;
  if (job.kind == "schedule.run") return RunSchedule(context, job, call);
  if (job.kind == "game.check") return RunGameCheck(context, job, call);
  if (job.kind == "game.update") return RunGameUpdate(context, job, call);
  if (job.kind == "host.install") {
    result = HostInstall(context, job, call);
  } else if (job.kind == "overlay.sync") {
    result = OverlaySync(context, job, call);
  } else if (job.kind == "server.backup") {
    result = RunServerBackup(context, job, call);
  } else if (job.kind == "server.restore") {
    result = RunServerRestore(context, job, call);
  } else if (job.kind == "backup.delete") {
    result = RunBackupDeletion(context, job, call);
  } else if (absl::StartsWith(job.kind, "server.")) {
    result = ServerAction(context, job, call);
  } else if (job.kind == "webhook.deliver") {
    result = DeliverWebhook(context, job, call);
  } else {
    result = absl::InvalidArgumentError(absl::StrCat("unknown job kind '", job.kind, "'"));
  }
  L4D2_RETURN_IF_ERROR(result.status());
  return JobOutcome{.result = *std::move(result)};
}

}  // namespace l4d2::controller
