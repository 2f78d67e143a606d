#include "controller/fleet/reconciler.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "common/status_macros.h"
#include "controller/jobs/agent_fanout.h"
#include "controller/jobs/game_update.h"
#include "controller/jobs/job_kinds.h"
#include "controller/store/fleet_counts.h"
#include "rpc/proto_json.h"

namespace l4d2::controller {
namespace {

InstanceObservation Observe(const agent::v1::Instance& instance) {
  const agent::v1::InstanceStatus& status = instance.status();
  // Kept without the time of observation and the live figures (CPU time, memory, A2S latency:
  // they go to samples, metric_history.h), so that the row changes only when the status does.
  agent::v1::InstanceStatus kept = status;
  kept.clear_observed_at();
  kept.mutable_unit()->clear_memory_current_bytes();
  kept.mutable_unit()->clear_cpu_usage();
  kept.mutable_game()->clear_latency();
  return {.name = instance.name(),
          .state = FromInstanceState(status.state()),
          .status = ToJson(kept),
          .players = status.game().players(),
          .cpu_millis = status.unit().cpu_usage().seconds() * 1000 +
                        status.unit().cpu_usage().nanos() / 1000000,
          .memory_bytes = static_cast<int64_t>(status.unit().memory_current_bytes()),
          .latency_us =
              status.game().latency().seconds() * 1000000 + status.game().latency().nanos() / 1000,
          .build = instance.build_id(),
          .restart_required = status.log().restart_required()};
}

}  // namespace

std::vector<absl::StatusOr<agent::v1::ListInstancesResponse>> AgentInstanceLister::ListAll(
    const std::vector<Host>& hosts) {
  agent::v1::ListInstancesRequest request;
  request.set_include_game_status(true);
  return AskAll(agents_, hosts,
                &agent::v1::AgentService::StubInterface::async_interface::ListInstances, request,
                timeout_);
}

Reconciler::Reconciler(FleetStores& stores, InstanceLister& lister, ReconcilerOptions options)
    : stores_(stores), lister_(lister), options_(options) {}

Reconciler::~Reconciler() { Stop(); }

absl::StatusOr<ReconcileReport> Reconciler::Round() {
  ReconcileReport report;
  L4D2_ASSIGN_OR_RETURN(report.leader, stores_.leases.TryAcquire("reconciler", options_.owner,
                                                                 options_.interval * 3));
  held_ = report.leader;
  if (!report.leader) return report;
  L4D2_ASSIGN_OR_RETURN(std::vector<Host> all, stores_.hosts.List());
  std::vector<Host> ready;
  for (Host& host : all) {
    if (host.state == "ready" || host.state == "draining") ready.push_back(std::move(host));
  }
  std::vector<absl::StatusOr<agent::v1::ListInstancesResponse>> answers = lister_.ListAll(ready);
  // Read after the answers: a job queued meanwhile is seen, and its server left alone.
  L4D2_ASSIGN_OR_RETURN(
      absl::flat_hash_set<std::string> busy,
      stores_.jobs.BusyLocks("server:", stores_.clock.Now() - options_.observation_lag));
  L4D2_ASSIGN_OR_RETURN(absl::flat_hash_set<std::string> placed,
                        stores_.servers.HostsWithServers());
  // Recorded a chunk of hosts per transaction: one write lock of a few milliseconds at a
  // time, not one per host (5,000 a round) nor one for the whole fleet.
  constexpr size_t kHostsPerTransaction = 100;
  std::vector<ServerStore::HostObservation> chunk;
  // The instances that servers name, by (host, name), on the hosts recorded.
  absl::flat_hash_set<std::pair<std::string, std::string>> managed;
  absl::flat_hash_set<std::string> unrecorded;
  auto record = [&] {
    absl::StatusOr<std::vector<ObservedServer>> observed = stores_.servers.ObserveHosts(chunk);
    if (!observed.ok()) {
      L4D2_LOG(WARNING) << "reconciler: " << chunk.size()
                        << " hosts not recorded: " << observed.status().message();
      for (const ServerStore::HostObservation& host : chunk) unrecorded.insert(host.host_id);
    } else {
      for (const ObservedServer& server : *observed) {
        ++report.servers_observed;
        managed.emplace(server.server.host_id, server.server.name);
        Reconcile(server, busy, report);
      }
    }
    chunk.clear();
  };
  for (size_t i = 0; i < ready.size(); ++i) {
    if (!answers[i].ok()) continue;  // Host health deals with silent hosts.
    ++report.hosts_answered;
    // Nothing to record for a host without servers (most of a large idle fleet).
    if (!placed.contains(ready[i].id)) continue;
    ServerStore::HostObservation& host = chunk.emplace_back();
    host.host_id = ready[i].id;
    for (const agent::v1::Instance& instance : answers[i]->instances()) {
      host.instances.push_back(Observe(instance));
    }
    if (chunk.size() == kHostsPerTransaction) record();
  }
  if (!chunk.empty()) record();
  for (size_t i = 0; i < ready.size(); ++i) {
    if (!answers[i].ok() || unrecorded.contains(ready[i].id)) continue;
    RecordUnmanaged(ready[i], *answers[i], managed);
  }
  if (!report.update_required.empty()) {
    absl::StatusOr<std::string> check = QueueGameCheck(stores_, "update_required", "system");
    if (!check.ok()) L4D2_LOG(WARNING) << "reconciler: update check: " << check.status().message();
  }
  if (absl::Status rolled = stores_.metrics.Maintain(); !rolled.ok()) {
    L4D2_LOG(WARNING) << "reconciler: metrics: " << rolled.message();
  }
  if (absl::Status folded = FoldJobCounts(stores_.db); !folded.ok()) {
    L4D2_LOG(WARNING) << "reconciler: job counts: " << folded.message();
  }
  // The dashboard's players chart: one sample a minute, whichever controller comes first.
  const absl::Time now = stores_.clock.Now();
  absl::StatusOr<bool> sampled =
      SamplePlayers(stores_.db, now, now - options_.players_history_retention);
  if (!sampled.ok()) L4D2_LOG(WARNING) << "reconciler: players: " << sampled.status().message();
  return report;
}

void Reconciler::RecordUnmanaged(
    const Host& host, const agent::v1::ListInstancesResponse& answer,
    const absl::flat_hash_set<std::pair<std::string, std::string>>& managed) {
  std::vector<UnmanagedInstance> unmanaged;
  for (const agent::v1::Instance& instance : answer.instances()) {
    if (managed.contains(std::pair(host.id, instance.name()))) continue;
    unmanaged.push_back(
        {.name = instance.name(),
         .port = instance.spec().port(),
         .state = std::string(ServerStateName(FromInstanceState(instance.status().state())))});
  }
  std::sort(unmanaged.begin(), unmanaged.end(),
            [](const UnmanagedInstance& a, const UnmanagedInstance& b) { return a.name < b.name; });
  // Written only when it changed: most rounds write nothing.
  if (unmanaged == host.unmanaged) return;
  if (absl::Status set = stores_.hosts.SetUnmanaged(host.id, unmanaged); !set.ok()) {
    L4D2_LOG(WARNING) << "reconciler: host " << host.name << ": " << set.message();
  }
}

void Reconciler::Reconcile(const ObservedServer& observed,
                           const absl::flat_hash_set<std::string>& busy, ReconcileReport& report) {
  const Server& server = observed.server;
  const ServerState state = server.actual_state;
  const absl::Time now = stores_.clock.Now();
  if (state == ServerState::kCrashed && observed.previous_state != ServerState::kCrashed &&
      observed.previous_state != ServerState::kCrashLoop) {
    // Once per crash (alerts hear of it); systemd restarts it, or it becomes a crash loop.
    (void)stores_.audit.Append("system", "server.crashed", server.id,
                               AuditDetail({{"name", server.name}, {"host", server.host_id}}),
                               server.owner_id);
  }
  if (state == ServerState::kCrashLoop && observed.previous_state != ServerState::kCrashLoop) {
    report.crash_loops.push_back(server.id);
    L4D2_LOG(WARNING) << "server " << server.name << " (" << server.id << ") is in a crash loop";
    (void)stores_.audit.Append("system", "server.crash_loop", server.id,
                               AuditDetail({{"name", server.name}, {"host", server.host_id}}),
                               server.owner_id);
  }
  if (state == ServerState::kHung && observed.previous_state != ServerState::kHung) {
    report.hung.push_back(server.id);
    L4D2_LOG(WARNING) << "server " << server.name << " (" << server.id
                      << ") is hung: its game stopped answering";
    (void)stores_.audit.Append("system", "server.hung", server.id,
                               AuditDetail({{"name", server.name}, {"host", server.host_id}}),
                               server.owner_id);
  }
  if (observed.update_required_began) {
    report.update_required.push_back(server.id);
    L4D2_LOG(INFO) << "server " << server.name << " (" << server.id
                   << "): Steam requires a game update";
    (void)stores_.audit.Append(
        "system", "server.update_required", server.id,
        AuditDetail({{"name", server.name}, {"host", server.host_id}, {"build", server.build}}),
        server.owner_id);
  }
  if (busy.contains("server:" + server.id)) return;
  if (server.desired_state == DesiredState::kRunning && state == ServerState::kHung) {
    RestartHung(server, now, report);
    return;
  }
  if (server.desired_state == DesiredState::kRunning) {
    if (state == ServerState::kRunning && server.restart_attempts != 0) {
      (void)stores_.servers.SetRestartBackoff(server.id, 0, absl::InfinitePast());
      return;
    }
    // "crashed" is systemd's to restart, unless the unit failed for good (restart policy
    // never): then it is down like a stopped server.
    bool down = state == ServerState::kStopped || state == ServerState::kMissing;
    if (state == ServerState::kCrashed) {
      absl::StatusOr<agent::v1::InstanceStatus> status =
          FromJson<agent::v1::InstanceStatus>(server.status);
      down = status.ok() && status->unit().active_state() == "failed";
    }
    if (!down) return;
    if (now < server.next_restart_at) return;
    if (server.restart_attempts >= options_.max_restarts) {
      if (server.restart_attempts == options_.max_restarts) {
        report.gave_up.push_back(server.id);
        (void)stores_.audit.Append(
            "system", "server.gave_up", server.id,
            AuditDetail(
                {{"name", server.name}, {"attempts", absl::StrCat(server.restart_attempts)}}),
            server.owner_id);
        // Once: one more than the limit marks that it was said.
        (void)stores_.servers.SetRestartBackoff(server.id, server.restart_attempts + 1,
                                                absl::InfiniteFuture());
      }
      return;
    }
    if (QueueWithBackoff(server, "start", absl::StrCat("reported ", ServerStateName(state)), now)) {
      report.started.push_back(server.id);
    }
  } else if (server.desired_state == DesiredState::kStopped &&
             (state == ServerState::kRunning || state == ServerState::kStarting ||
              state == ServerState::kHung)) {
    absl::StatusOr<std::string> job = stores_.jobs.Enqueue(ServerJob("stop", server.id, "system"));
    if (!job.ok()) return;
    (void)stores_.audit.Append(
        "system", "server.stop", server.id,
        AuditDetail({{"name", server.name},
                     {"reason", absl::StrCat("reported ", ServerStateName(state))},
                     {"job", *job}}),
        server.owner_id);
    report.stopped.push_back(server.id);
  }
}

void Reconciler::RestartHung(const Server& server, absl::Time now, ReconcileReport& report) {
  // The row's backoff first: the blueprint is read only when a restart could be queued.
  if (now < server.next_restart_at || server.restart_attempts >= options_.max_restarts) return;
  absl::StatusOr<Blueprint> blueprint =
      stores_.blueprints.Get(Actor::System(), server.blueprint_id);
  if (!blueprint.ok() || !blueprint->settings.restart().restart_when_hung()) return;
  if (QueueWithBackoff(server, "restart", "reported hung", now)) {
    report.restarted.push_back(server.id);
  }
}

bool Reconciler::QueueWithBackoff(const Server& server, const std::string& action,
                                  const std::string& reason, absl::Time now) {
  absl::StatusOr<std::string> job = stores_.jobs.Enqueue(ServerJob(action, server.id, "system"));
  if (!job.ok()) return false;
  const absl::Duration backoff =
      options_.restart_backoff * (int64_t{1} << std::min(server.restart_attempts, 16));
  (void)stores_.servers.SetRestartBackoff(server.id, server.restart_attempts + 1, now + backoff);
  (void)stores_.audit.Append(
      "system", "server." + action, server.id,
      AuditDetail({{"name", server.name}, {"reason", reason}, {"job", *job}}), server.owner_id);
  return true;
}

void Reconciler::Start() {
  thread_ = std::thread([this] {
    absl::MutexLock lock(&mutex_);
    while (!mutex_.AwaitWithTimeout(absl::Condition(&stopping_), options_.interval)) {
      mutex_.Unlock();
      absl::StatusOr<ReconcileReport> report = Round();
      if (!report.ok()) L4D2_LOG(WARNING) << "reconciler: " << report.status().message();
      mutex_.Lock();
    }
  });
}

void Reconciler::Stop() {
  {
    absl::MutexLock lock(&mutex_);
    if (stopping_) return;
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
  // Another controller may take over at once instead of after the lease.
  if (held_) (void)stores_.leases.Release("reconciler", options_.owner);
}

}  // namespace l4d2::controller
