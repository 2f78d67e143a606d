#include "controller/jobs/schedule_run.h"

#include <algorithm>
#include <set>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status_macros.h"
#include "controller/jobs/server_actions.h"
#include "rpc/proto_json.h"
#include "rpc/proto_time.h"
#include "soci/soci.h"

namespace l4d2::controller {
namespace {

// How often a run looks whether the jobs of its step have ended.
constexpr absl::Duration kAwaitPoll = absl::Seconds(2);

std::string Describe(const v1::ScheduleStep& step) {
  switch (step.step_case()) {
    case v1::ScheduleStep::kCommand:
      return absl::StrCat("command \"", step.command(), "\"");
    case v1::ScheduleStep::kWait:
      return absl::StrCat("wait ", absl::FormatDuration(DurationOf(step.wait())));
    case v1::ScheduleStep::kAction:
      return step.action();
    case v1::ScheduleStep::kInstall:
      return "install the game";
    case v1::ScheduleStep::kSyncOverlay:
      return absl::StrCat("sync overlay ", step.sync_overlay());
    case v1::ScheduleStep::STEP_NOT_SET:
      break;
  }
  return "nothing";
}

class Run {
 public:
  Run(const JobContext& context, const Job& job, AgentCall& call, v1::ScheduleRunParams params,
      v1::ScheduleRunProgress progress)
      : context_(context),
        stores_(context.stores),
        job_(job),
        call_(call),
        params_(std::move(params)),
        progress_(std::move(progress)),
        owner_(params_.owner_admin() ? Actor::Admin(params_.owner_id())
                                     : Actor::Operator(params_.owner_id())),
        now_(stores_.clock.Now()) {}

  absl::StatusOr<JobOutcome> Go() {
    const v1::ScheduleDefinition& definition = params_.definition();
    if (!progress_.resolved()) L4D2_RETURN_IF_ERROR(Resolve());
    if (progress_.has_wait_until()) {
      const absl::Time until = TimeOf(progress_.wait_until());
      if (until > now_) return Park(until);
      progress_.clear_wait_until();
    }
    if (!progress_.awaited_jobs().empty()) {
      L4D2_ASSIGN_OR_RETURN(bool ended, CollectAwaited());
      if (!ended) return Park(now_ + kAwaitPoll);
      progress_.set_next_step(progress_.next_step() + 1);
    }
    if (progress_.next_step() >= definition.steps_size()) return Finish();
    const int index = progress_.next_step();
    const v1::ScheduleStep& step = definition.steps(index);
    call_.Event("step", absl::StrCat("step ", index + 1, " of ", definition.steps_size(), ": ",
                                     Describe(step)));
    switch (step.step_case()) {
      case v1::ScheduleStep::kCommand:
        L4D2_RETURN_IF_ERROR(Command(index, step.command()));
        progress_.set_next_step(index + 1);
        return Park(now_);  // recorded before the next step
      case v1::ScheduleStep::kWait:
        progress_.set_next_step(index + 1);
        *progress_.mutable_wait_until() = TimestampOf(now_ + DurationOf(step.wait()));
        return Park(TimeOf(progress_.wait_until()));
      case v1::ScheduleStep::kAction:
        return Action(index, step.action());
      case v1::ScheduleStep::kInstall:
        return HostJobs(
            index, [&](const std::string& host) { return HostInstallJob(host, owner_.Name()); });
      case v1::ScheduleStep::kSyncOverlay:
        return HostJobs(index, [&](const std::string& host) {
          return OverlaySyncJob(step.sync_overlay(), host, owner_.Name());
        });
      case v1::ScheduleStep::STEP_NOT_SET:
        break;
    }
    return absl::InvalidArgumentError(absl::StrCat("step ", index + 1, ": no step"));
  }

 private:
  // The run's servers: the target's as the owner sees them now, by name; with only_when_empty,
  // those with players on left out.
  absl::Status Resolve() {
    const v1::ScheduleTarget& target = params_.definition().target();
    std::vector<Server> servers;
    if (target.kind() == "server") {
      absl::StatusOr<Server> server = stores_.servers.Get(owner_, target.id());
      if (absl::IsNotFound(server.status())) {
        return absl::NotFoundError(absl::StrCat("the schedule's server '", target.id(),
                                                "' is gone (or no longer its owner's)"));
      }
      L4D2_RETURN_IF_ERROR(server.status());
      servers.push_back(*std::move(server));
    } else {
      ServerFilter filter;
      if (target.kind() == "blueprint") filter.blueprint_id = target.id();
      if (target.kind() == "host") filter.host_id = target.id();
      L4D2_ASSIGN_OR_RETURN(servers, stores_.servers.List(owner_, filter));
    }
    std::vector<std::string> ids;
    for (const Server& server : servers) ids.push_back(server.id);
    absl::flat_hash_map<std::string, int> players;
    if (params_.definition().only_when_empty()) {
      L4D2_ASSIGN_OR_RETURN(players, stores_.players.PlayersOn(ids));
    }
    std::vector<std::string> names, skipped;
    for (const Server& server : servers) {
      if (players.contains(server.id)) {
        skipped.push_back(server.name);
        progress_.add_skipped(server.name);
      } else {
        names.push_back(server.name);
        progress_.add_server_ids(server.id);
      }
    }
    progress_.set_resolved(true);
    std::string line =
        absl::StrCat(names.size(), " server(s)", names.empty() ? "" : ": ", ShortList(names));
    if (!skipped.empty()) {
      absl::StrAppend(&line, "; left out, players on: ", ShortList(skipped));
    }
    call_.Event("step", line);
    return absl::OkStatus();
  }

  std::vector<std::string> ServerIds() const {
    return {progress_.server_ids().begin(), progress_.server_ids().end()};
  }

  // The console command to every running server of the run.
  absl::Status Command(int index, const std::string& command) {
    L4D2_ASSIGN_OR_RETURN(std::vector<Server> servers,
                          stores_.servers.GetMany(owner_, ServerIds()));
    absl::flat_hash_map<std::string, Host> hosts;
    std::vector<std::string> failed;
    int sent = 0;
    for (const Server& server : servers) {
      if (server.host_id.empty() || server.actual_state != ServerState::kRunning) continue;
      if (!hosts.contains(server.host_id)) {
        L4D2_ASSIGN_OR_RETURN(Host host, stores_.hosts.Get(server.host_id));
        hosts.emplace(server.host_id, std::move(host));
      }
      agent::v1::ExecuteConsoleCommandRequest request;
      request.set_operation_id(absl::StrCat(job_.id, ":", index, ":", server.id));
      request.set_name(server.name);
      request.set_command(command);
      absl::StatusOr<agent::v1::ExecuteConsoleCommandResponse> answer =
          context_.agents.ExecuteConsoleCommand(hosts.at(server.host_id), request, call_);
      if (absl::IsCancelled(answer.status())) return answer.status();
      if (!answer.ok()) {
        failed.push_back(absl::StrCat(server.name, " (", answer.status().message(), ")"));
      } else {
        ++sent;
      }
    }
    call_.Event("step", absl::StrCat("sent to ", sent, " running server(s)"));
    return StepFailures(index, failed);
  }

  // A start/stop/restart/reset/backup job for every server of the run (with only_when_empty,
  // those with players on now are left out of the step, but for a backup, which interrupts
  // nobody), then a park until they end.
  absl::StatusOr<JobOutcome> Action(int index, const std::string& action) {
    // Those still there (a server deleted since the run began is no failure); a backup, of
    // those ever placed (the others have no state yet).
    L4D2_ASSIGN_OR_RETURN(std::vector<Server> servers,
                          stores_.servers.GetMany(owner_, ServerIds()));
    const bool backup = action == "backup";
    std::vector<std::string> ids;
    for (const Server& server : servers) {
      if (!backup || !server.host_id.empty()) ids.push_back(server.id);
    }
    if (params_.definition().only_when_empty() && !backup && !ids.empty()) {
      L4D2_ASSIGN_OR_RETURN(auto players, stores_.players.PlayersOn(ids));
      if (!players.empty()) {
        std::vector<std::string> names;
        for (const Server& server : servers) {
          if (players.contains(server.id)) names.push_back(server.name);
        }
        call_.Event("step", absl::StrCat("left out, players on now: ", ShortList(names)));
        std::erase_if(ids, [&](const std::string& id) { return players.contains(id); });
      }
    }
    return Await(index, [&](soci::session& sql) -> absl::StatusOr<std::vector<std::string>> {
      if (ids.empty()) return std::vector<std::string>();
      return QueueServerActions(sql, stores_, owner_, ids, action, now_, absl::ZeroDuration());
    });
  }

  // A job per host of the run's servers (and the target's host).
  absl::StatusOr<JobOutcome> HostJobs(int index,
                                      const std::function<NewJob(const std::string&)>& make) {
    L4D2_ASSIGN_OR_RETURN(std::vector<Server> servers,
                          stores_.servers.GetMany(owner_, ServerIds()));
    std::set<std::string> hosts;
    for (const Server& server : servers) {
      if (!server.host_id.empty()) hosts.insert(server.host_id);
    }
    const v1::ScheduleTarget& target = params_.definition().target();
    if (target.kind() == "host") hosts.insert(target.id());
    return Await(index, [&](soci::session& sql) -> absl::StatusOr<std::vector<std::string>> {
      std::vector<NewJob> jobs;
      for (const std::string& host : hosts) jobs.push_back(make(host));
      if (jobs.empty()) return std::vector<std::string>();
      L4D2_ASSIGN_OR_RETURN(std::vector<std::string> ids, stores_.jobs.Enqueue(sql, jobs));
      std::vector<AuditEntry> entries;
      for (size_t i = 0; i < jobs.size(); ++i) {
        entries.push_back(
            {.actor = owner_.Name(),
             .action = jobs[i].kind,
             .target = *std::next(hosts.begin(), static_cast<long>(i)),
             .detail = AuditDetail({{"job", ids[i]}, {"schedule", params_.schedule_name()}})});
      }
      stores_.audit.Append(sql, entries);
      return ids;
    });
  }

  // Queues the step's jobs and records them in the run's progress in one transaction, then
  // parks until they end (or goes on at once when there are none).
  absl::StatusOr<JobOutcome> Await(
      int index,
      const std::function<absl::StatusOr<std::vector<std::string>>(soci::session&)>& queue) {
    v1::ScheduleRunProgress next = progress_;
    L4D2_RETURN_IF_ERROR(stores_.db.Transact([&](soci::session& sql) -> absl::Status {
      L4D2_ASSIGN_OR_RETURN(std::vector<std::string> ids, queue(sql));
      next.clear_awaited_jobs();
      for (const std::string& id : ids) next.add_awaited_jobs(id);
      if (ids.empty()) return absl::OkStatus();
      return stores_.jobs.SaveProgress(sql, job_.id, job_.lease_owner, ToJson(next));
    }));
    progress_ = std::move(next);
    if (progress_.awaited_jobs().empty()) {
      call_.Event("step", "nothing to do");
      progress_.set_next_step(index + 1);
      return Park(now_);
    }
    call_.Event("step", absl::StrCat("queued ", progress_.awaited_jobs_size(), " job(s): ",
                                     ShortList({progress_.awaited_jobs().begin(),
                                                progress_.awaited_jobs().end()})));
    return Park(now_ + kAwaitPoll);
  }

  // Whether every awaited job has ended; the failed ones are the step's failures.
  absl::StatusOr<bool> CollectAwaited() {
    std::vector<std::string> failed;
    for (const std::string& id : progress_.awaited_jobs()) {
      absl::StatusOr<Job> awaited = stores_.jobs.Get(id);
      if (absl::IsNotFound(awaited.status())) continue;  // pruned: long ended
      L4D2_RETURN_IF_ERROR(awaited.status());
      if (awaited->state == JobState::kQueued || awaited->state == JobState::kRunning) {
        return false;
      }
      if (awaited->state != JobState::kSucceeded) {
        failed.push_back(absl::StrCat(awaited->kind, " ", id, " ", JobStateName(awaited->state),
                                      ": ", awaited->error.message()));
      }
    }
    const int index = progress_.next_step();
    progress_.clear_awaited_jobs();
    call_.Event("step", absl::StrCat("step ", index + 1, ": its jobs ended"));
    L4D2_RETURN_IF_ERROR(StepFailures(index, failed));
    return true;
  }

  // Records a step's failures; the run's end unless the schedule says to go on.
  absl::Status StepFailures(int index, const std::vector<std::string>& failed) {
    if (failed.empty()) return absl::OkStatus();
    progress_.set_failures(progress_.failures() + static_cast<int>(failed.size()));
    const std::string what =
        absl::StrCat("step ", index + 1, " (", Describe(params_.definition().steps(index)),
                     ") failed for ", failed.size(), ": ", ShortList(failed));
    if (!params_.definition().continue_on_failure()) return absl::FailedPreconditionError(what);
    call_.Event("step", what + "; going on (continue on failure)");
    return absl::OkStatus();
  }

  JobOutcome Park(absl::Time until) const {
    return {.result = ToJson(progress_), .park_until = until};
  }

  JobOutcome Finish() const {
    v1::ScheduleRunResult result;
    result.set_steps(params_.definition().steps_size());
    result.set_servers(progress_.server_ids_size());
    *result.mutable_skipped() = progress_.skipped();
    result.set_failures(progress_.failures());
    return {.result = ToJson(result)};
  }

  const JobContext& context_;
  FleetStores& stores_;
  const Job& job_;
  AgentCall& call_;
  const v1::ScheduleRunParams params_;
  v1::ScheduleRunProgress progress_;
  const Actor owner_;
  const absl::Time now_;
};

}  // namespace

NewJob ScheduleRunJob(const v1::ScheduleRunParams& params, const std::string& created_by) {
  return {.kind = "schedule.run",
          .lock_key = "schedule:" + params.schedule_id(),
          .params = ToJson(params),
          .created_by = created_by};
}

absl::StatusOr<JobOutcome> RunSchedule(const JobContext& context, const Job& job, AgentCall& call) {
  return LookAtParkedRun<Run, v1::ScheduleRunParams, v1::ScheduleRunProgress>(context, job, call);
}

}  // namespace l4d2::controller
