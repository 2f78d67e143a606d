#include "controller/jobs/scheduler.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/clock.h"
#include "common/logging.h"
#include "common/status_macros.h"
#include "grpcpp/client_context.h"
#include "l4d2/controller/v1/jobs.pb.h"
#include "rpc/grpc_status.h"
#include "rpc/proto_json.h"

namespace l4d2::controller {

// One job being run: what the renewer and Stop() need to reach its agent call.
struct Scheduler::Run {
  absl::Mutex mutex;
  grpc::ClientContext* call ABSL_GUARDED_BY(mutex) = nullptr;
  bool cancelled ABSL_GUARDED_BY(mutex) = false;         // the call is (to be) cancelled
  bool cancel_requested ABSL_GUARDED_BY(mutex) = false;  // by a user, through the queue
  bool lease_lost ABSL_GUARDED_BY(mutex) = false;
  bool ending_pending ABSL_GUARDED_BY(mutex) = false;  // handed to the writer
  std::string kind;

  void Cancel() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex) {
    cancelled = true;
    if (call != nullptr) call->TryCancel();
  }
  // Attaches an agent call; false when the run was cancelled before it started.
  bool Attach(grpc::ClientContext* context) {
    absl::MutexLock lock(&mutex);
    call = context;
    return !cancelled;
  }
  void Detach() {
    absl::MutexLock lock(&mutex);
    call = nullptr;
  }

  // One unary agent call under this run: cancelled with it, bounded by `timeout`.
  template <typename Request, typename Response>
  absl::Status Call(agent::v1::AgentService::StubInterface& stub,
                    grpc::Status (agent::v1::AgentService::StubInterface::*method)(
                        grpc::ClientContext*, const Request&, Response*),
                    const Request& request, Response* response, absl::Duration timeout) {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(RealDeadline(timeout)));
    if (!Attach(&context)) return absl::CancelledError("cancelled");
    grpc::Status status = (stub.*method)(&context, request, response);
    Detach();
    return FromGrpcStatus(status);
  }
};

namespace {

bool Transient(const absl::Status& status) {
  return absl::IsUnavailable(status) || absl::IsDeadlineExceeded(status) ||
         absl::IsAborted(status) || absl::IsResourceExhausted(status);
}

}  // namespace

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

Scheduler::Scheduler(FleetStores& stores, AgentConnector& agents, SchedulerOptions options)
    : stores_(stores),
      queue_(stores.jobs),
      hosts_(stores.hosts),
      agents_(agents),
      options_(std::move(options)) {}

Scheduler::~Scheduler() { Stop(); }

void Scheduler::Start() {
  dispatcher_ = std::thread([this] { Dispatch(); });
  writer_ = std::thread([this] { WriteLoop(); });
  renewer_ = std::thread([this] { RenewLoop(); });
  for (int i = 0; i < options_.workers; ++i) workers_.emplace_back([this] { Work(); });
}

void Scheduler::Stop() {
  {
    absl::MutexLock lock(&mutex_);
    if (stopping_ || !dispatcher_.joinable()) return;
    stopping_ = true;
    for (auto& [id, run] : running_) {
      absl::MutexLock run_lock(&run->mutex);
      run->Cancel();
    }
  }
  dispatcher_.join();
  for (std::thread& worker : workers_) worker.join();
  workers_.clear();
  {
    // Claimed but never started: back to the queue for whoever comes next.
    absl::MutexLock lock(&mutex_);
    for (const Job& job : ready_) {
      pending_endings_.push_back({.id = job.id,
                                  .owner = options_.owner,
                                  .state = JobState::kQueued,
                                  .error = absl::UnavailableError("the controller stopped"),
                                  .not_before = stores_.clock.Now()});
    }
    ready_.clear();
    writer_done_ = true;
  }
  writer_.join();
  renewer_.join();
}

void Scheduler::Dispatch() {
  absl::MutexLock lock(&mutex_);
  while (!stopping_) {
    // Claims only for workers that would otherwise wait: one transaction for all of them.
    auto room = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
      return stopping_ || idle_ > static_cast<int>(ready_.size());
    };
    mutex_.Await(absl::Condition(&room));
    if (stopping_) break;
    const int wanted = idle_ - static_cast<int>(ready_.size());
    mutex_.Unlock();
    absl::StatusOr<std::vector<Job>> jobs = queue_.Claim(options_.owner, wanted, options_.lease);
    mutex_.Lock();
    if (!jobs.ok()) L4D2_LOG(WARNING) << "claiming jobs: " << jobs.status().message();
    if (jobs.ok() && !jobs->empty()) {
      for (Job& job : *jobs) ready_.push_back(std::move(job));
      continue;
    }
    // Nothing due: look again after the poll interval, or as soon as jobs ended (their lock
    // keys are free now, and queued jobs of the same server or host may go).
    auto wake = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) { return stopping_ || jobs_ended_; };
    mutex_.AwaitWithTimeout(absl::Condition(&wake), options_.poll);
    jobs_ended_ = false;
  }
}

void Scheduler::Work() {
  absl::MutexLock lock(&mutex_);
  ++idle_;
  while (true) {
    auto ready = [this]()
                     ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) { return stopping_ || !ready_.empty(); };
    mutex_.Await(absl::Condition(&ready));
    if (stopping_) break;
    Job job = std::move(ready_.front());
    ready_.pop_front();
    --idle_;
    mutex_.Unlock();
    Execute(job);
    mutex_.Lock();
    ++idle_;
  }
  --idle_;
}

void Scheduler::Event(const std::string& job_id, const std::string& kind, std::string data) {
  absl::MutexLock lock(&mutex_);
  pending_events_.push_back({.job_id = job_id, .kind = kind, .data = std::move(data)});
}

void Scheduler::Execute(const Job& job) {
  auto run = std::make_shared<Run>();
  run->kind = job.kind;
  {
    absl::MutexLock lock(&mutex_);
    running_[job.id] = run;
    if (stopping_) {
      absl::MutexLock run_lock(&run->mutex);
      run->Cancel();
    }
  }
  absl::StatusOr<std::string> result =
      job.kind == "host.install"   ? HostInstall(job, *run)
      : job.kind == "overlay.sync" ? OverlaySync(job, *run)
      : absl::StartsWith(job.kind, "server.")
          ? ServerAction(job, *run)
          : absl::StatusOr<std::string>(
                absl::InvalidArgumentError(absl::StrCat("unknown job kind '", job.kind, "'")));
  absl::MutexLock lock(&mutex_);
  absl::MutexLock run_lock(&run->mutex);
  if (run->lease_lost) {
    // Another worker owns the job now and will resume it by its operation ids.
    L4D2_LOG(WARNING) << "job " << job.id << ": lease lost";
    running_.erase(job.id);
    return;
  }
  JobEnding ending{.id = job.id, .owner = options_.owner, .not_before = stores_.clock.Now()};
  if (result.ok()) {
    ending.state = JobState::kSucceeded;
    ending.result = *std::move(result);
  } else if (run->cancel_requested) {
    ending.state = JobState::kCancelled;
    ending.error = absl::CancelledError("cancelled");
  } else if (stopping_ && absl::IsCancelled(result.status())) {
    // Back to the queue: the next claimer resumes it where the agent is.
    ending.state = JobState::kQueued;
    ending.error = absl::UnavailableError("the controller stopped during the job");
  } else if (Transient(result.status())) {
    ending.state = JobState::kQueued;
    ending.error = result.status();
    ending.not_before = stores_.clock.Now() + JobQueue::Backoff(job.attempt);
  } else {
    ending.state = JobState::kFailed;
    ending.error = result.status();
  }
  run->ending_pending = true;
  pending_endings_.push_back(std::move(ending));
}

void Scheduler::WriteLoop() {
  absl::MutexLock lock(&mutex_);
  while (true) {
    // Everything that accumulated while the last write ran goes in the next: a commit per
    // batch, not per job (at low load, a batch of one right away).
    auto work = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
      return writer_done_ || !pending_events_.empty() || !pending_endings_.empty();
    };
    mutex_.Await(absl::Condition(&work));
    if (pending_events_.empty() && pending_endings_.empty()) break;  // done, and nothing left
    std::vector<NewJobEvent> events = std::move(pending_events_);
    std::vector<JobEnding> endings = std::move(pending_endings_);
    pending_events_.clear();
    pending_endings_.clear();
    mutex_.Unlock();
    absl::StatusOr<std::vector<absl::Status>> written = queue_.Write(events, endings);
    if (!written.ok()) {
      L4D2_LOG(ERROR) << "writing " << endings.size()
                      << " job endings: " << written.status().message();
      absl::SleepFor(absl::Milliseconds(100));  // The database is down; try again.
      mutex_.Lock();
      pending_events_.insert(pending_events_.begin(), events.begin(), events.end());
      pending_endings_.insert(pending_endings_.begin(), endings.begin(), endings.end());
      continue;
    }
    mutex_.Lock();
    if (!endings.empty()) jobs_ended_ = true;
    for (size_t i = 0; i < endings.size(); ++i) {
      const JobEnding& ending = endings[i];
      auto it = running_.find(ending.id);
      const std::string kind = it != running_.end() ? it->second->kind : "";
      if (it != running_.end()) running_.erase(it);
      // Logged once recorded.
      if (!(*written)[i].ok()) {
        L4D2_LOG(WARNING) << "job " << ending.id << " (" << kind
                          << "): " << (*written)[i].message();
      } else if (ending.state == JobState::kSucceeded) {
        L4D2_LOG(INFO) << "job " << ending.id << " (" << kind << ") succeeded";
      } else {
        L4D2_LOG(INFO) << "job " << ending.id << " (" << kind << ") " << JobStateName(ending.state)
                       << ": " << ending.error.message();
      }
    }
  }
}

void Scheduler::RenewLoop() {
  absl::MutexLock lock(&mutex_);
  while (!mutex_.AwaitWithTimeout(absl::Condition(&writer_done_), options_.lease / 3)) {
    std::vector<std::string> ids;
    for (const auto& [id, run] : running_) ids.push_back(id);
    mutex_.Unlock();
    absl::StatusOr<std::vector<LeaseCheck>> checks =
        queue_.RenewAll(ids, options_.owner, options_.lease);
    mutex_.Lock();
    if (!checks.ok()) {
      L4D2_LOG(WARNING) << "renewing leases: " << checks.status().message();
      continue;
    }
    for (size_t i = 0; i < ids.size(); ++i) {
      auto it = running_.find(ids[i]);
      if (it == running_.end()) continue;
      absl::MutexLock run_lock(&it->second->mutex);
      if (it->second->ending_pending) continue;  // Its end is being written.
      if (!(*checks)[i].held) {
        it->second->lease_lost = true;
        it->second->Cancel();
      } else if ((*checks)[i].cancel_requested && !it->second->cancel_requested) {
        it->second->cancel_requested = true;
        it->second->Cancel();
      }
    }
  }
}

template <typename StreamEvent>
auto Scheduler::FollowStream(Run& run, const std::string& job_id,
                             std::unique_ptr<grpc::ClientReaderInterface<StreamEvent>> reader,
                             const char* what)
    -> absl::StatusOr<std::decay_t<decltype(StreamEvent().result())>> {
  std::decay_t<decltype(StreamEvent().result())> result;
  bool have_result = false;
  StreamEvent event;
  while (reader->Read(&event)) {
    if (event.has_progress()) {
      Event(job_id, "progress", ToJson(event.progress()));
    } else if (event.has_log_line()) {
      Event(job_id, "log", event.log_line());
    } else if (event.has_result()) {
      result = event.result();
      have_result = true;
    }
  }
  absl::Status status = FromGrpcStatus(reader->Finish());
  run.Detach();
  L4D2_RETURN_IF_ERROR(status);
  if (!have_result) {
    return absl::UnavailableError(absl::StrCat("the agent's ", what, " ended without a result"));
  }
  return result;
}

absl::StatusOr<std::string> Scheduler::HostInstall(const Job& job, Run& run) {
  L4D2_ASSIGN_OR_RETURN(v1::HostInstallParams params, FromJson<v1::HostInstallParams>(job.params));
  L4D2_ASSIGN_OR_RETURN(Host host, hosts_.Get(params.host_id()));
  std::shared_ptr<agent::v1::AgentService::StubInterface> stub = agents_.Stub(host);
  grpc::ClientContext context;
  if (!run.Attach(&context)) return absl::CancelledError("cancelled");
  agent::v1::InstallRequest request;
  request.set_operation_id(job.id + ":install");
  request.set_validate(params.validate());
  request.set_branch(params.branch());
  L4D2_ASSIGN_OR_RETURN(agent::v1::InstallResult installed,
                        FollowStream<agent::v1::InstallEvent>(
                            run, job.id, stub->Install(&context, request), "install"));
  // Written only when it changed; last_seen is the health monitor's.
  if (installed.build_id() != host.installed_build) {
    L4D2_RETURN_IF_ERROR(hosts_.SetInstalledBuild(host.id, installed.build_id()));
  }
  v1::HostInstallResult result;
  result.set_build_id(installed.build_id());
  result.set_changed(installed.changed());
  return ToJson(result);
}

std::string InstanceStateName(agent::v1::InstanceState state) {
  return absl::AsciiStrToLower(
      absl::StripPrefix(agent::v1::InstanceState_Name(state), "INSTANCE_STATE_"));
}

absl::StatusOr<agent::v1::OverlaySyncResult> Scheduler::SyncToHost(const Job& job, Run& run,
                                                                   const std::string& overlay_id,
                                                                   const Host& host,
                                                                   int64_t* revision) {
  L4D2_ASSIGN_OR_RETURN(Overlay overlay, stores_.overlays.Get(Actor::System(), overlay_id));
  *revision = overlay.revision;
  std::shared_ptr<agent::v1::AgentService::StubInterface> stub = agents_.Stub(host);
  grpc::ClientContext context;
  if (!run.Attach(&context)) return absl::CancelledError("cancelled");
  agent::v1::SyncOverlayRequest request = overlay.source;
  // The revision is part of the step: a changed definition is a new sync, a retry is not.
  request.set_operation_id(absl::StrCat(job.id, ":sync:", overlay.id, ":", overlay.revision));
  request.set_ref(overlay.ref);
  L4D2_ASSIGN_OR_RETURN(agent::v1::OverlaySyncResult synced,
                        FollowStream<agent::v1::OverlaySyncEvent>(
                            run, job.id, stub->SyncOverlay(&context, request), "sync"));
  L4D2_RETURN_IF_ERROR(
      stores_.overlays.RecordSync(overlay.id, host.id, overlay.revision, synced.version()));
  return synced;
}

absl::StatusOr<std::string> Scheduler::OverlaySync(const Job& job, Run& run) {
  L4D2_ASSIGN_OR_RETURN(v1::OverlaySyncParams params,
                        FromJson<v1::OverlaySyncParams>(job.params, "job parameters"));
  L4D2_ASSIGN_OR_RETURN(Host host, hosts_.Get(params.host_id()));
  int64_t revision = 0;
  L4D2_ASSIGN_OR_RETURN(agent::v1::OverlaySyncResult synced,
                        SyncToHost(job, run, params.overlay_id(), host, &revision));
  v1::OverlaySyncJobResult result;
  result.set_revision(revision);
  result.set_version(synced.version());
  result.set_changed(synced.changed());
  return ToJson(result);
}

absl::Status Scheduler::PrepareInstance(const Job& job, Run& run, const Server& server,
                                        const Host& host) {
  L4D2_ASSIGN_OR_RETURN(Blueprint blueprint,
                        stores_.blueprints.Get(Actor::System(), server.blueprint_id));
  for (const BlueprintOverlay& layer : blueprint.overlays) {
    L4D2_ASSIGN_OR_RETURN(Overlay overlay, stores_.overlays.Get(Actor::System(), layer.overlay_id));
    L4D2_ASSIGN_OR_RETURN(std::optional<OverlayOnHost> on_host,
                          stores_.overlays.OnHost(overlay.id, host.id));
    if (on_host && on_host->revision >= overlay.revision) continue;
    Event(job.id, "step", absl::StrCat("sync overlay ", overlay.ref));
    int64_t revision = 0;
    L4D2_RETURN_IF_ERROR(SyncToHost(job, run, overlay.id, host, &revision).status());
  }
  L4D2_ASSIGN_OR_RETURN(agent::v1::InstanceSpec spec,
                        stores_.blueprints.SpecFor(server.blueprint_id, server.port));
  agent::v1::InitializeInstanceRequest request;
  request.set_operation_id(job.id + ":init");
  request.set_name(server.name);
  *request.mutable_spec() = spec;
  agent::v1::Instance instance;
  std::shared_ptr<agent::v1::AgentService::StubInterface> stub = agents_.Stub(host);
  return run.Call(*stub, &agent::v1::AgentService::StubInterface::InitializeInstance, request,
                  &instance, options_.call_timeout);
}

absl::StatusOr<std::string> Scheduler::ServerAction(const Job& job, Run& run) {
  std::string server_id, blueprint_id;
  if (job.kind == "server.change_blueprint") {
    L4D2_ASSIGN_OR_RETURN(v1::ServerChangeBlueprintParams params,
                          FromJson<v1::ServerChangeBlueprintParams>(job.params, "job parameters"));
    server_id = params.server_id();
    blueprint_id = params.blueprint_id();
  } else {
    L4D2_ASSIGN_OR_RETURN(v1::ServerJobParams params,
                          FromJson<v1::ServerJobParams>(job.params, "job parameters"));
    server_id = params.server_id();
  }
  const std::string action(absl::StripPrefix(job.kind, "server."));
  v1::ServerJobResult result;
  absl::StatusOr<Server> found = stores_.servers.Get(Actor::System(), server_id);
  if (action == "delete" && absl::IsNotFound(found.status())) {
    result.set_state("deleted");  // A retry after the server was forgotten.
    return ToJson(result);
  }
  L4D2_ASSIGN_OR_RETURN(Server server, std::move(found));
  if (action == "change_blueprint") {
    L4D2_RETURN_IF_ERROR(stores_.servers.SetBlueprint(server.id, blueprint_id));
    server.blueprint_id = blueprint_id;
  }
  const bool places = action == "create" || action == "start" || action == "restart";
  if (places && server.host_id.empty()) {
    L4D2_ASSIGN_OR_RETURN(server, stores_.servers.Place(server.id, options_.placement));
    (void)queue_.AppendEvent(
        job.id, "step", absl::StrCat("placed on host ", server.host_id, " port ", server.port));
  }
  if (server.host_id.empty()) {
    // Never placed: nothing runs anywhere.
    if (action == "delete") {
      L4D2_RETURN_IF_ERROR(stores_.servers.Remove(server.id));
      result.set_state("deleted");
    } else {
      result.set_state("stopped");
    }
    return ToJson(result);
  }
  L4D2_ASSIGN_OR_RETURN(Host host, hosts_.Get(server.host_id));
  result.set_host_id(host.id);
  result.set_port(server.port);
  if (host.state == "unreachable") {
    // Retried with backoff; the server stays on its host whatever happens.
    return absl::UnavailableError(absl::StrCat("host '", host.name, "' is unreachable"));
  }
  std::shared_ptr<agent::v1::AgentService::StubInterface> stub = agents_.Stub(host);
  using Stub = agent::v1::AgentService::StubInterface;
  agent::v1::Instance instance;
  absl::Status status;
  if (action == "delete") {
    agent::v1::DeleteInstanceRequest request;
    request.set_operation_id(job.id + ":delete");
    request.set_name(server.name);
    agent::v1::DeleteInstanceResponse deleted;
    L4D2_RETURN_IF_ERROR(
        run.Call(*stub, &Stub::DeleteInstance, request, &deleted, options_.call_timeout));
    L4D2_RETURN_IF_ERROR(stores_.servers.Remove(server.id));
    result.set_state("deleted");
    return ToJson(result);
  }
  if (action == "stop") {
    agent::v1::StopInstanceRequest request;
    request.set_operation_id(job.id + ":stop");
    request.set_name(server.name);
    status = run.Call(*stub, &Stub::StopInstance, request, &instance, options_.call_timeout);
  } else if (action == "reset") {
    agent::v1::ResetInstanceRequest request;
    request.set_operation_id(job.id + ":reset");
    request.set_name(server.name);
    status = run.Call(*stub, &Stub::ResetInstance, request, &instance, options_.call_timeout);
  } else if (places || action == "change_blueprint") {
    L4D2_RETURN_IF_ERROR(PrepareInstance(job, run, server, host));
    const bool start =
        action == "start" || (action == "create" && server.desired_state == "running");
    if (start) {
      agent::v1::StartInstanceRequest request;
      request.set_operation_id(job.id + ":start");
      request.set_name(server.name);
      status = run.Call(*stub, &Stub::StartInstance, request, &instance, options_.call_timeout);
    } else if (action == "restart") {
      agent::v1::RestartInstanceRequest request;
      request.set_operation_id(job.id + ":restart");
      request.set_name(server.name);
      status = run.Call(*stub, &Stub::RestartInstance, request, &instance, options_.call_timeout);
    } else {
      agent::v1::GetInstanceRequest request;
      request.set_name(server.name);
      status = run.Call(*stub, &Stub::GetInstance, request, &instance, options_.call_timeout);
    }
  } else {
    return absl::InvalidArgumentError(absl::StrCat("unknown job kind '", job.kind, "'"));
  }
  L4D2_RETURN_IF_ERROR(status);
  result.set_state(InstanceStateName(instance.status().state()));
  return ToJson(result);
}

}  // namespace l4d2::controller
