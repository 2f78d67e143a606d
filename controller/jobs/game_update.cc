#include "controller/jobs/game_update.h"

#include <algorithm>
#include <functional>
#include <map>
#include <thread>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "common/status_macros.h"
#include "l4d2/controller/v1/jobs.pb.h"
#include "rpc/proto_json.h"
#include "rpc/proto_time.h"
#include "soci/soci.h"

namespace l4d2::controller {
namespace {

// How often a rolling update looks again while restarts run, and while it waits for players.
constexpr absl::Duration kBusyPoll = absl::Seconds(2);
constexpr absl::Duration kIdlePoll = absl::Seconds(5);
// Hosts asked at once by a check (steamcmd's app_info takes seconds on each).
constexpr size_t kChecksAtOnce = 8;
// How a restart refused for players begins its error (job_kinds.cc), so that the update tells
// it from a failure.
constexpr char kPlayersOn[] = "players on";
// A server whose restart was refused for players is not tried again before this (the hosts'
// reports catch up with the players who joined meanwhile).
constexpr absl::Duration kRefusedPause = absl::Seconds(30);

bool Ended(JobState state) { return state != JobState::kQueued && state != JobState::kRunning; }

// Hosts whose agents can be asked: enrolled and not marked unreachable.
bool Reachable(const Host& host) {
  return host.state != "enrolling" && host.state != "unreachable";
}

// Running servers on another build than `installed` ("" builds: not yet observed).
int ServersBehind(const std::vector<Server>& servers, const std::string& installed) {
  return static_cast<int>(std::count_if(servers.begin(), servers.end(), [&](const Server& s) {
    return s.actual_state == ServerState::kRunning && !s.build.empty() && s.build != installed;
  }));
}

// Writes the update state as `change` makes it from the current one, compare-and-set on its
// revision, within `sql`'s transaction. ABORTED (retried) when another writer came between.
absl::Status ChangeState(FleetStores& stores, soci::session& sql,
                         const std::function<absl::Status(v1::UpdateState&)>& change) {
  L4D2_ASSIGN_OR_RETURN(Versioned<v1::UpdateState> state, stores.updates.State(sql));
  L4D2_RETURN_IF_ERROR(change(state.value));
  L4D2_ASSIGN_OR_RETURN(bool saved, stores.updates.SaveState(sql, state.value, state.revision));
  if (!saved) return absl::AbortedError("the update state changed meanwhile; trying again");
  return absl::OkStatus();
}

// Queues a rolling update of `hosts` in `sql`'s transaction, audited and recorded in the state.
absl::StatusOr<std::string> EnqueueUpdate(FleetStores& stores, soci::session& sql,
                                          const std::string& build, const std::vector<Host>& hosts,
                                          const v1::UpdatePolicy& policy,
                                          const std::string& created_by) {
  v1::GameUpdateParams params;
  params.set_build(build);
  std::vector<std::string> names;
  for (const Host& host : hosts) {
    params.add_host_ids(host.id);
    names.push_back(host.name);
  }
  *params.mutable_policy() = policy;
  L4D2_ASSIGN_OR_RETURN(std::vector<std::string> ids,
                        stores.jobs.Enqueue(sql, {GameUpdateJob(params, created_by)}));
  stores.audit.Append(
      sql,
      {{.actor = created_by,
        .action = "update.rolling",
        .target = "fleet",
        .detail = AuditDetail(
            {{"build", build}, {"hosts", absl::StrJoin(names, ", ")}, {"job", ids.front()}})}});
  L4D2_RETURN_IF_ERROR(ChangeState(stores, sql, [&](v1::UpdateState& state) {
    state.set_update_job_id(ids.front());
    return absl::OkStatus();
  }));
  return ids.front();
}

// One claim of a rolling update (see the header).
class Rollout {
 public:
  Rollout(const JobContext& context, const Job& job, AgentCall& call, v1::GameUpdateParams params,
          v1::GameUpdateProgress progress)
      : context_(context),
        stores_(context.stores),
        job_(job),
        call_(call),
        params_(std::move(params)),
        progress_(std::move(progress)),
        now_(stores_.clock.Now()) {}

  absl::StatusOr<JobOutcome> Go() {
    if (!progress_.has_started_at()) Begin();
    if (HostsIn("pending") > 0) return QueueInstalls();
    if (HostsIn("installing") > 0) {
      L4D2_ASSIGN_OR_RETURN(bool ended, CollectInstalls());
      if (!ended) return Park(now_ + kBusyPoll);
    }
    if (!progress_.resolved()) L4D2_RETURN_IF_ERROR(Resolve());
    return Roll();
  }

 private:
  using HostStep = v1::GameUpdateProgress::HostStep;
  using ServerStep = v1::GameUpdateProgress::ServerStep;

  const v1::UpdatePolicy& policy() const { return params_.policy(); }

  void Begin() {
    *progress_.mutable_started_at() = TimestampOf(now_);
    for (const std::string& id : params_.host_ids()) {
      HostStep& step = *progress_.add_hosts();
      step.set_host_id(id);
      absl::StatusOr<Host> host = stores_.hosts.Get(id);
      if (!host.ok()) {
        step.set_state("failed");
        step.set_error(std::string(host.status().message()));
        continue;
      }
      step.set_host_name(host->name);
      step.set_state("pending");
    }
  }

  int HostsIn(const std::string& state) const {
    return static_cast<int>(std::count_if(progress_.hosts().begin(), progress_.hosts().end(),
                                          [&](const HostStep& h) { return h.state() == state; }));
  }

  // Changes the progress as `change` says and saves it, in one transaction with what `change`
  // queues; the progress is this claim's only once that committed.
  absl::Status Commit(
      const std::function<absl::Status(soci::session&, v1::GameUpdateProgress&)>& change) {
    v1::GameUpdateProgress next = progress_;
    L4D2_RETURN_IF_ERROR(stores_.db.Transact([&](soci::session& sql) -> absl::Status {
      L4D2_RETURN_IF_ERROR(change(sql, next));
      return stores_.jobs.SaveProgress(sql, job_.id, job_.lease_owner, ToJson(next));
    }));
    progress_ = std::move(next);
    return absl::OkStatus();
  }

  absl::StatusOr<JobOutcome> QueueInstalls() {
    std::vector<std::string> names;
    L4D2_RETURN_IF_ERROR(Commit([&](soci::session& sql, v1::GameUpdateProgress& next) {
      std::vector<NewJob> jobs;
      std::vector<HostStep*> steps;
      for (HostStep& step : *next.mutable_hosts()) {
        if (step.state() != "pending") continue;
        jobs.push_back(HostInstallJob(step.host_id(), "system"));
        steps.push_back(&step);
        names.push_back(step.host_name());
      }
      L4D2_ASSIGN_OR_RETURN(std::vector<std::string> ids, stores_.jobs.Enqueue(sql, jobs));
      std::vector<AuditEntry> entries;
      for (size_t i = 0; i < ids.size(); ++i) {
        steps[i]->set_state("installing");
        steps[i]->set_install_job(ids[i]);
        entries.push_back({.actor = "system",
                           .action = "host.install",
                           .target = steps[i]->host_id(),
                           .detail = AuditDetail({{"job", ids[i]}, {"update", job_.id}})});
      }
      stores_.audit.Append(sql, entries);
      return absl::OkStatus();
    }));
    call_.Event("step", absl::StrCat("installing the newest build on ", names.size(),
                                     " host(s): ", ShortList(names)));
    return Park(now_ + kBusyPoll);
  }

  // Whether every install has ended; each host installed or failed.
  absl::StatusOr<bool> CollectInstalls() {
    for (HostStep& step : *progress_.mutable_hosts()) {
      if (step.state() != "installing") continue;
      L4D2_ASSIGN_OR_RETURN(Job install, stores_.jobs.Get(step.install_job()));
      if (!Ended(install.state)) return false;
    }
    std::vector<std::string> lines;
    for (HostStep& step : *progress_.mutable_hosts()) {
      if (step.state() != "installing") continue;
      L4D2_ASSIGN_OR_RETURN(Job install, stores_.jobs.Get(step.install_job()));
      absl::StatusOr<v1::HostInstallResult> result =
          FromJson<v1::HostInstallResult>(install.result, "install result");
      if (install.state == JobState::kSucceeded && result.ok()) {
        step.set_state("installed");
        step.set_build(result->build_id());
        lines.push_back(absl::StrCat(step.host_name(), " on build ", result->build_id()));
      } else {
        step.set_state("failed");
        step.set_error(install.state == JobState::kSucceeded
                           ? std::string(result.status().message())
                           : absl::StrCat("install ", JobStateName(install.state), ": ",
                                          install.error.message()));
        lines.push_back(absl::StrCat(step.host_name(), " failed (", step.error(),
                                     "): its servers stay on their build"));
      }
    }
    call_.Event("step", absl::StrCat("installs ended: ", absl::StrJoin(lines, "; ")));
    return true;
  }

  const HostStep* HostOf(const std::string& host_id) const {
    for (const HostStep& step : progress_.hosts()) {
      if (step.host_id() == host_id) return &step;
    }
    return nullptr;
  }

  // Whether `server` is still one to move: it should run and runs, on another build.
  bool ToMove(const Server& server) const {
    const HostStep* host = HostOf(server.host_id);
    return host != nullptr && host->state() == "installed" &&
           server.desired_state == DesiredState::kRunning &&
           (server.actual_state == ServerState::kRunning ||
            server.actual_state == ServerState::kStarting ||
            server.actual_state == ServerState::kHung) &&
           server.build != host->build();
  }

  absl::Status Resolve() {
    std::vector<std::string> names;
    for (const HostStep& host : progress_.hosts()) {
      if (host.state() != "installed") continue;
      L4D2_ASSIGN_OR_RETURN(std::vector<Server> servers,
                            stores_.servers.List(Actor::System(), {.host_id = host.host_id()}));
      for (const Server& server : servers) {
        if (!ToMove(server)) continue;
        ServerStep& step = *progress_.add_servers();
        step.set_server_id(server.id);
        step.set_name(server.name);
        step.set_host_id(server.host_id);
        step.set_state("waiting");
        names.push_back(server.name);
      }
    }
    progress_.set_resolved(true);
    call_.Event("step", absl::StrCat(names.size(), " running server(s) to move",
                                     names.empty() ? "" : ": ", ShortList(names)));
    return absl::OkStatus();
  }

  // The restarts that ended since the last look: done, failed, or refused for players (the
  // server waits again). The number still running.
  absl::StatusOr<int> CollectRestarts() {
    int running = 0;
    for (ServerStep& step : *progress_.mutable_servers()) {
      if (step.state() != "restarting") continue;
      absl::StatusOr<Job> restart = stores_.jobs.Get(step.restart_job());
      if (absl::IsNotFound(restart.status())) {  // pruned: long ended
        step.set_state("done");
        continue;
      }
      L4D2_RETURN_IF_ERROR(restart.status());
      if (!Ended(restart->state)) {
        ++running;
      } else if (restart->state == JobState::kSucceeded) {
        step.set_state("done");
        call_.Event("step", absl::StrCat(step.name(), " runs the new build",
                                         step.forced() ? " (restarted at the deadline)" : ""));
      } else if (absl::IsFailedPrecondition(restart->error) &&
                 absl::StartsWith(restart->error.message(), kPlayersOn)) {
        step.set_state("waiting");
        step.set_refused(step.refused() + 1);
        *step.mutable_refused_at() = TimestampOf(now_);
        call_.Event("step", absl::StrCat(step.name(), ": players joined just before its restart (",
                                         restart->error.message(), "); waiting again"));
      } else {
        step.set_state("failed");
        step.set_error(
            absl::StrCat("restart ", JobStateName(restart->state), ": ", restart->error.message()));
        call_.Event("step", absl::StrCat(step.name(), ": ", step.error()));
      }
    }
    return running;
  }

  absl::StatusOr<JobOutcome> Roll() {
    L4D2_ASSIGN_OR_RETURN(int in_flight, CollectRestarts());
    std::vector<std::string> waiting_ids;
    for (const ServerStep& step : progress_.servers()) {
      if (step.state() == "waiting") waiting_ids.push_back(step.server_id());
    }
    L4D2_ASSIGN_OR_RETURN(std::vector<Server> found,
                          stores_.servers.GetMany(Actor::System(), waiting_ids));
    absl::flat_hash_map<std::string, Server> servers;
    for (Server& server : found) servers.emplace(server.id, std::move(server));
    L4D2_ASSIGN_OR_RETURN(auto logged_players, stores_.players.PlayersOn(waiting_ids));

    const absl::Duration deadline_after = DurationOf(policy().deadline());
    const bool has_deadline = deadline_after > absl::ZeroDuration();
    const absl::Time deadline = TimeOf(progress_.started_at()) + deadline_after;
    const absl::Time warn_at = deadline - DurationOf(policy().warning_lead());
    std::vector<std::pair<std::string, bool>> restarts;  // server id, forced
    std::vector<const Server*> warnings;
    for (ServerStep& step : *progress_.mutable_servers()) {
      if (step.state() != "waiting") continue;
      auto it = servers.find(step.server_id());
      if (it == servers.end() || !ToMove(it->second)) {
        step.set_state("left");
        call_.Event("step", absl::StrCat(step.name(), ": ",
                                         it == servers.end() ? "deleted" : "stopped or moved",
                                         " meanwhile; left (it starts on the new build)"));
        continue;
      }
      const Server& server = it->second;
      const bool empty = !logged_players.contains(server.id) && server.players == 0;
      const bool room = in_flight + static_cast<int>(restarts.size()) < policy().max_parallel();
      const bool paused = step.has_refused_at() && now_ < TimeOf(step.refused_at()) + kRefusedPause;
      if (empty) {
        if (room && !paused) restarts.emplace_back(server.id, false);
        continue;
      }
      if (!has_deadline) continue;
      if (now_ >= warn_at && !step.warned() && !policy().warning().empty()) {
        warnings.push_back(&server);
      }
      if (now_ >= deadline && room) restarts.emplace_back(server.id, true);
    }
    if (!warnings.empty()) L4D2_RETURN_IF_ERROR(Warn(warnings, deadline));
    if (!restarts.empty()) L4D2_RETURN_IF_ERROR(QueueRestarts(restarts, servers));
    in_flight += static_cast<int>(restarts.size());

    const bool finished = std::none_of(
        progress_.servers().begin(), progress_.servers().end(), [](const ServerStep& step) {
          return step.state() == "waiting" || step.state() == "restarting";
        });
    if (finished) return Finish();
    absl::Time next = now_ + (in_flight > 0 ? kBusyPoll : kIdlePoll);
    if (has_deadline) {
      for (absl::Time at : {warn_at, deadline}) {
        if (at > now_) next = std::min(next, at);
      }
    }
    return Park(next);
  }

  // The policy's warning to each server's players (its console; "%s": the time left), once.
  absl::Status Warn(const std::vector<const Server*>& servers, absl::Time deadline) {
    const std::string left = absl::FormatDuration(
        std::max(absl::Seconds(1), absl::Trunc(deadline - now_, absl::Seconds(1))));
    const std::string command = absl::StrReplaceAll(policy().warning(), {{"%s", left}});
    absl::flat_hash_map<std::string, Host> hosts;
    std::vector<std::string> warned, failed;
    for (const Server* server : servers) {
      if (!hosts.contains(server->host_id)) {
        L4D2_ASSIGN_OR_RETURN(Host host, stores_.hosts.Get(server->host_id));
        hosts.emplace(server->host_id, std::move(host));
      }
      agent::v1::ExecuteConsoleCommandRequest request;
      request.set_operation_id(absl::StrCat(job_.id, ":warn:", server->id));
      request.set_name(server->name);
      request.set_command(command);
      absl::Status sent =
          context_.agents.ExecuteConsoleCommand(hosts.at(server->host_id), request, call_).status();
      if (absl::IsCancelled(sent)) return sent;
      if (!sent.ok()) {
        // Not again: the restart at the deadline comes all the same.
        failed.push_back(absl::StrCat(server->name, " (", sent.message(), ")"));
      } else {
        warned.push_back(server->name);
      }
      for (ServerStep& step : *progress_.mutable_servers()) {
        if (step.server_id() == server->id) step.set_warned(true);
      }
    }
    call_.Event("step",
                absl::StrCat("warned the players of ", warned.size(), " server(s): \"", command,
                             "\"", failed.empty() ? "" : "; not reached: ", ShortList(failed)));
    return absl::OkStatus();
  }

  absl::Status QueueRestarts(const std::vector<std::pair<std::string, bool>>& restarts,
                             const absl::flat_hash_map<std::string, Server>& servers) {
    std::vector<std::string> empty_names, forced_names;
    L4D2_RETURN_IF_ERROR(Commit([&](soci::session& sql, v1::GameUpdateProgress& next) {
      std::vector<NewJob> jobs;
      for (const auto& [id, forced] : restarts) {
        v1::ServerJobParams job_params;
        job_params.set_server_id(id);
        job_params.set_only_when_empty(!forced);
        NewJob job = ServerJob("restart", id, "system");
        job.params = ToJson(job_params);
        jobs.push_back(std::move(job));
      }
      L4D2_ASSIGN_OR_RETURN(std::vector<std::string> ids, stores_.jobs.Enqueue(sql, jobs));
      std::vector<AuditEntry> entries;
      for (size_t i = 0; i < ids.size(); ++i) {
        const auto& [id, forced] = restarts[i];
        const Server& server = servers.at(id);
        for (ServerStep& step : *next.mutable_servers()) {
          if (step.server_id() != id) continue;
          step.set_state("restarting");
          step.set_restart_job(ids[i]);
          step.set_forced(forced);
        }
        (forced ? forced_names : empty_names).push_back(server.name);
        entries.push_back(
            {.actor = "system",
             .action = "server.restart",
             .target = id,
             .detail = AuditDetail({{"name", server.name},
                                    {"job", ids[i]},
                                    {"reason", forced ? "game update deadline" : "game update"},
                                    {"update", job_.id}}),
             .owner = server.owner_id});
      }
      stores_.audit.Append(sql, entries);
      return absl::OkStatus();
    }));
    if (!empty_names.empty()) {
      call_.Event("step", absl::StrCat("restarting (empty): ", ShortList(empty_names)));
    }
    if (!forced_names.empty()) {
      call_.Event("step", absl::StrCat("restarting at the deadline, players on: ",
                                       ShortList(forced_names)));
    }
    return absl::OkStatus();
  }

  JobOutcome Park(absl::Time until) const {
    return {.result = ToJson(progress_), .park_until = until};
  }

  absl::StatusOr<JobOutcome> Finish() {
    v1::GameUpdateResult result;
    std::vector<std::string> failed_hosts;
    for (const HostStep& host : progress_.hosts()) {
      if (host.state() == "installed") {
        result.set_hosts_updated(result.hosts_updated() + 1);
        result.set_build(host.build());
      } else {
        result.set_hosts_failed(result.hosts_failed() + 1);
        failed_hosts.push_back(absl::StrCat(
            host.host_name().empty() ? host.host_id() : host.host_name(), ": ", host.error()));
      }
    }
    std::vector<std::string> failed_servers;
    for (const ServerStep& server : progress_.servers()) {
      if (server.state() == "done") {
        if (server.forced()) {
          result.set_servers_restarted_forced(result.servers_restarted_forced() + 1);
        } else {
          result.set_servers_restarted_empty(result.servers_restarted_empty() + 1);
        }
      } else if (server.state() == "failed") {
        result.set_servers_failed(result.servers_failed() + 1);
        failed_servers.push_back(absl::StrCat(server.name(), ": ", server.error()));
      } else {
        result.set_servers_left(result.servers_left() + 1);
      }
    }
    *result.mutable_took() = ProtoDurationOf(now_ - TimeOf(progress_.started_at()));
    // What the last check said of the hosts' builds, brought up to date.
    L4D2_RETURN_IF_ERROR(stores_.db.Transact([&](soci::session& sql) {
      return ChangeState(stores_, sql, [&](v1::UpdateState& state) {
        for (v1::HostBuild& host : *state.mutable_hosts()) {
          const HostStep* step = HostOf(host.host_id());
          if (step != nullptr && step->state() == "installed") {
            host.set_installed_build(step->build());
          }
        }
        return absl::OkStatus();
      });
    }));
    if (!failed_hosts.empty() || !failed_servers.empty()) {
      std::vector<std::string> parts;
      if (!failed_hosts.empty()) {
        parts.push_back(
            absl::StrCat("installs failed on ", failed_hosts.size(),
                         " host(s), whose servers stay on their build: ", ShortList(failed_hosts)));
      }
      if (!failed_servers.empty()) {
        parts.push_back(absl::StrCat(failed_servers.size(),
                                     " server(s) not restarted: ", ShortList(failed_servers)));
      }
      // A failed update is an alert (job.failed); the rest of the fleet moved all the same.
      return absl::FailedPreconditionError(absl::StrCat(
          absl::StrJoin(parts, "; "), " (", result.servers_restarted_empty(), " restarted empty, ",
          result.servers_restarted_forced(), " at the deadline)"));
    }
    call_.Event("step",
                absl::StrCat("done: ", result.hosts_updated(), " host(s) on build ", result.build(),
                             ", ", result.servers_restarted_empty(), " server(s) restarted empty, ",
                             result.servers_restarted_forced(), " at the deadline"));
    return JobOutcome{.result = ToJson(result)};
  }

  const JobContext& context_;
  FleetStores& stores_;
  const Job& job_;
  AgentCall& call_;
  const v1::GameUpdateParams params_;
  v1::GameUpdateProgress progress_;
  const absl::Time now_;
};

}  // namespace

bool NewerBuild(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return a.size() > b.size();
  return a > b;
}

NewJob GameCheckJob(const std::string& reason, const std::string& created_by) {
  v1::GameCheckParams params;
  params.set_reason(reason);
  return {.kind = "game.check",
          .lock_key = "game.check",
          .params = ToJson(params),
          .created_by = created_by};
}

NewJob GameUpdateJob(const v1::GameUpdateParams& params, const std::string& created_by) {
  // A park uses no attempt; attempts are for a controller that died mid-look.
  return {.kind = "game.update",
          .lock_key = "game.update",
          .params = ToJson(params),
          .created_by = created_by};
}

absl::StatusOr<std::string> QueueGameCheck(FleetStores& stores, const std::string& reason,
                                           const std::string& created_by) {
  std::string id;
  L4D2_RETURN_IF_ERROR(stores.db.Transact([&](soci::session& sql) -> absl::Status {
    if (stores.jobs.Unfinished(sql, "game.check")) return absl::OkStatus();
    L4D2_ASSIGN_OR_RETURN(std::vector<std::string> ids,
                          stores.jobs.Enqueue(sql, {GameCheckJob(reason, created_by)}));
    id = ids.front();
    return ChangeState(stores, sql, [&](v1::UpdateState& state) {
      state.set_check_job_id(id);
      return absl::OkStatus();
    });
  }));
  return id;
}

absl::StatusOr<std::string> QueueGameUpdate(FleetStores& stores,
                                            const std::vector<std::string>& host_ids,
                                            const std::string& created_by) {
  L4D2_ASSIGN_OR_RETURN(v1::UpdatePolicy policy, stores.updates.Policy());
  std::vector<Host> hosts;
  if (host_ids.empty()) {
    L4D2_ASSIGN_OR_RETURN(std::vector<Host> all, stores.hosts.List());
    for (Host& host : all) {
      if (Reachable(host) && HostUpdateMode(policy, host.id) != "off") {
        hosts.push_back(std::move(host));
      }
    }
  } else {
    for (const std::string& id : host_ids) {
      L4D2_ASSIGN_OR_RETURN(Host host, stores.hosts.Get(id));
      if (host.state == "enrolling") {
        return absl::FailedPreconditionError(
            absl::StrCat("host '", host.name, "' has not enrolled yet"));
      }
      hosts.push_back(std::move(host));
    }
  }
  if (hosts.empty()) {
    return absl::FailedPreconditionError(
        "no host to update: every ready host's update mode is off");
  }
  std::string id;
  L4D2_RETURN_IF_ERROR(stores.db.Transact([&](soci::session& sql) -> absl::Status {
    L4D2_ASSIGN_OR_RETURN(Versioned<v1::UpdateState> state, stores.updates.State(sql));
    if (stores.jobs.Unfinished(sql, "game.update")) {
      return absl::FailedPreconditionError(
          absl::StrCat("a rolling update is already queued or running (job ",
                       state.value.update_job_id(), "); cancel it first"));
    }
    L4D2_ASSIGN_OR_RETURN(
        id, EnqueueUpdate(stores, sql, state.value.latest_build(), hosts, policy, created_by));
    return absl::OkStatus();
  }));
  return id;
}

absl::StatusOr<JobOutcome> RunGameCheck(const JobContext& context, const Job& job,
                                        AgentCall& call) {
  FleetStores& stores = context.stores;
  L4D2_ASSIGN_OR_RETURN(v1::GameCheckParams params,
                        FromJson<v1::GameCheckParams>(job.params, "job parameters"));
  L4D2_ASSIGN_OR_RETURN(v1::UpdatePolicy policy, stores.updates.Policy());
  L4D2_ASSIGN_OR_RETURN(std::vector<Host> all, stores.hosts.List());
  // Every enrolled host is listed; those off or unreachable are not asked.
  std::vector<Host> hosts;
  std::vector<v1::HostBuild> not_asked;
  for (Host& host : all) {
    if (host.state == "enrolling") continue;
    const std::string mode = HostUpdateMode(policy, host.id);
    if (mode != "off" && Reachable(host)) {
      hosts.push_back(host);
      continue;
    }
    v1::HostBuild& build = not_asked.emplace_back();
    build.set_host_id(host.id);
    build.set_host_name(host.name);
    build.set_mode(mode);
    build.set_installed_build(host.installed_build);
    if (mode != "off") build.set_error("unreachable: not asked");
  }
  call.Event("step", absl::StrCat("asking ", hosts.size(), " host(s) for the newest build (",
                                  params.reason(), ")"));
  std::vector<absl::StatusOr<agent::v1::CheckForUpdateResponse>> answers(
      hosts.size(), absl::UnknownError("not asked"));
  for (size_t first = 0; first < hosts.size(); first += kChecksAtOnce) {
    std::vector<std::thread> threads;
    for (size_t i = first; i < std::min(hosts.size(), first + kChecksAtOnce); ++i) {
      threads.emplace_back([&, i] {
        PlainAgentCall own;  // one call per thread: AgentCall is not shared across threads
        answers[i] = context.agents.CheckForUpdate(hosts[i], {}, own);
      });
    }
    for (std::thread& thread : threads) thread.join();
  }
  const absl::Time now = stores.clock.Now();
  v1::GameCheckResult result;
  std::string latest;
  std::vector<Host> behind, rolling;
  std::vector<std::string> behind_names, failed;
  for (size_t i = 0; i < hosts.size(); ++i) {
    const Host& host = hosts[i];
    v1::HostBuild& build = *result.add_hosts();
    build.set_host_id(host.id);
    build.set_host_name(host.name);
    build.set_mode(HostUpdateMode(policy, host.id));
    *build.mutable_checked_at() = TimestampOf(now);
    if (!answers[i].ok()) {
      build.set_installed_build(host.installed_build);
      build.set_error(std::string(answers[i].status().message()));
      failed.push_back(absl::StrCat(host.name, " (", build.error(), ")"));
      continue;
    }
    build.set_installed_build(answers[i]->installed_build_id());
    build.set_latest_build(answers[i]->latest_build_id());
    if (NewerBuild(build.latest_build(), latest)) latest = build.latest_build();
    L4D2_ASSIGN_OR_RETURN(std::vector<Server> servers,
                          stores.servers.List(Actor::System(), {.host_id = host.id}));
    build.set_servers_behind(ServersBehind(servers, build.installed_build()));
  }
  if (!hosts.empty() && failed.size() == hosts.size()) {
    return absl::UnavailableError(absl::StrCat("no host could be checked: ", ShortList(failed)));
  }
  for (size_t i = 0; i < hosts.size(); ++i) {
    const v1::HostBuild& build = result.hosts(static_cast<int>(i));
    if (!build.error().empty() || !NewerBuild(latest, build.installed_build())) continue;
    behind.push_back(hosts[i]);
    behind_names.push_back(absl::StrCat(
        hosts[i].name, " (",
        build.installed_build().empty() ? "not installed" : build.installed_build(), ")"));
  }
  // Rolling hosts behind, or with servers still on an older build than theirs (installed by
  // hand or by a schedule while they ran).
  for (size_t i = 0; i < hosts.size(); ++i) {
    const v1::HostBuild& build = result.hosts(static_cast<int>(i));
    if (build.error().empty() && build.mode() == "rolling" && !build.installed_build().empty() &&
        (NewerBuild(latest, build.installed_build()) || build.servers_behind() > 0)) {
      rolling.push_back(hosts[i]);
    }
  }
  result.set_latest_build(latest);
  for (v1::HostBuild& build : not_asked) *result.add_hosts() = std::move(build);
  L4D2_RETURN_IF_ERROR(stores.db.Transact([&](soci::session& sql) -> absl::Status {
    L4D2_ASSIGN_OR_RETURN(Versioned<v1::UpdateState> state, stores.updates.State(sql));
    if (!latest.empty() && !behind.empty() && NewerBuild(latest, state.value.announced_build())) {
      stores.audit.Append(
          sql, {{.actor = "system",
                 .action = "update.available",
                 .target = "fleet",
                 .detail = AuditDetail(
                     {{"build", latest}, {"hosts", ShortList(behind_names)}, {"job", job.id}})}});
      result.set_announced(true);
    }
    if (!rolling.empty() && !stores.jobs.Unfinished(sql, "game.update")) {
      L4D2_ASSIGN_OR_RETURN(std::string update,
                            EnqueueUpdate(stores, sql, latest, rolling, policy, "system"));
      result.set_update_job_id(update);
    }
    return ChangeState(stores, sql, [&](v1::UpdateState& next) {
      if (result.announced()) next.set_announced_build(latest);
      if (!latest.empty()) next.set_latest_build(latest);
      *next.mutable_checked_at() = TimestampOf(now);
      *next.mutable_hosts() = result.hosts();
      next.set_check_job_id(job.id);
      return absl::OkStatus();
    });
  }));
  call.Event(
      "step",
      absl::StrCat("newest build ", latest.empty() ? "unknown" : latest, "; ", behind.size(),
                   " host(s) behind", behind.empty() ? "" : ": ", ShortList(behind_names),
                   failed.empty() ? "" : "; not checked: ", ShortList(failed),
                   result.update_job_id().empty()
                       ? ""
                       : absl::StrCat("; rolling update ", result.update_job_id(), " queued")));
  return JobOutcome{.result = ToJson(result)};
}

absl::StatusOr<JobOutcome> RunGameUpdate(const JobContext& context, const Job& job,
                                         AgentCall& call) {
  return LookAtParkedRun<Rollout, v1::GameUpdateParams, v1::GameUpdateProgress>(context, job, call);
}

}  // namespace l4d2::controller
