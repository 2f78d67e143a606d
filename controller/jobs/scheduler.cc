#include "controller/jobs/scheduler.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/logging.h"
#include "common/status_macros.h"
#include "grpcpp/client_context.h"
#include "l4d2/controller/v1/jobs.pb.h"
#include "rpc/grpc_status.h"
#include "rpc/proto_json.h"

namespace l4d2::controller {

namespace v1 = ::l4d2::controller::v1;

// One job being run: what the renewer and Stop() need to reach its agent call.
struct Scheduler::Run {
  absl::Mutex mutex;
  grpc::ClientContext* call ABSL_GUARDED_BY(mutex) = nullptr;
  bool cancelled ABSL_GUARDED_BY(mutex) = false;  // the call is (to be) cancelled
  bool cancel_requested = false;                  // by a user, through the queue
  bool lease_lost = false;
  bool done ABSL_GUARDED_BY(mutex) = false;

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
    context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
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
  for (int i = 0; i < options_.workers; ++i) workers_.emplace_back([this] { Work(); });
}

void Scheduler::Stop() {
  {
    absl::MutexLock lock(&mutex_);
    stopping_ = true;
    for (Run* run : running_) {
      absl::MutexLock run_lock(&run->mutex);
      run->Cancel();
    }
  }
  for (std::thread& worker : workers_) worker.join();
  workers_.clear();
}

void Scheduler::Work() {
  while (true) {
    {
      absl::MutexLock lock(&mutex_);
      if (stopping_) return;
    }
    absl::StatusOr<std::vector<Job>> jobs = queue_.Claim(options_.owner, 1, options_.lease);
    if (!jobs.ok()) L4D2_LOG(WARNING) << "claiming jobs: " << jobs.status().message();
    if (!jobs.ok() || jobs->empty()) {
      absl::MutexLock lock(&mutex_);
      const bool& stopping = stopping_;
      mutex_.AwaitWithTimeout(absl::Condition(&stopping), options_.poll);
      continue;
    }
    for (const Job& job : *jobs) Execute(job);
  }
}

void Scheduler::Execute(const Job& job) {
  Run run;
  {
    absl::MutexLock lock(&mutex_);
    running_.push_back(&run);
    if (stopping_) {
      absl::MutexLock run_lock(&run.mutex);
      run.Cancel();
    }
  }
  // Keeps the lease while the job runs; hears of cancellation.
  std::thread renewer([this, &run, &job] {
    absl::MutexLock lock(&run.mutex);
    while (!run.mutex.AwaitWithTimeout(absl::Condition(&run.done), options_.lease / 3)) {
      run.mutex.Unlock();
      absl::StatusOr<bool> cancel = queue_.Renew(job.id, options_.owner, options_.lease);
      run.mutex.Lock();
      if (!cancel.ok() && absl::IsFailedPrecondition(cancel.status())) {
        run.lease_lost = true;
        run.Cancel();
      } else if (cancel.ok() && *cancel) {
        run.cancel_requested = true;
        run.Cancel();
      }
    }
  });
  absl::StatusOr<std::string> result =
      job.kind == "host.install"   ? HostInstall(job, run)
      : job.kind == "overlay.sync" ? OverlaySync(job, run)
      : absl::StartsWith(job.kind, "server.")
          ? ServerAction(job, run)
          : absl::StatusOr<std::string>(
                absl::InvalidArgumentError(absl::StrCat("unknown job kind '", job.kind, "'")));
  {
    absl::MutexLock lock(&run.mutex);
    run.done = true;
  }
  renewer.join();
  bool stopping = false;
  {
    absl::MutexLock lock(&mutex_);
    running_.erase(std::find(running_.begin(), running_.end(), &run));
    stopping = stopping_;
  }
  absl::Status ended;
  if (run.lease_lost) {
    // Another worker owns the job now and will resume it by its operation ids.
    L4D2_LOG(WARNING) << "job " << job.id << ": lease lost";
    return;
  } else if (result.ok()) {
    ended = queue_.Complete(job.id, options_.owner, *result);
    if (ended.ok()) L4D2_LOG(INFO) << "job " << job.id << " (" << job.kind << ") succeeded";
  } else if (run.cancel_requested) {
    ended = queue_.Fail(job.id, options_.owner, absl::CancelledError("cancelled"), false);
  } else if (stopping && absl::IsCancelled(result.status())) {
    // Back to the queue: the next claimer resumes it where the agent is.
    ended = queue_.Fail(job.id, options_.owner,
                        absl::UnavailableError("the controller stopped during the job"), true);
  } else {
    ended = queue_.Fail(job.id, options_.owner, result.status(), Transient(result.status()));
  }
  if (!ended.ok()) L4D2_LOG(ERROR) << "job " << job.id << ": " << ended.message();
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
  std::unique_ptr<grpc::ClientReaderInterface<agent::v1::InstallEvent>> reader =
      stub->Install(&context, request);
  agent::v1::InstallEvent event;
  agent::v1::InstallResult installed;
  bool have_result = false;
  while (reader->Read(&event)) {
    if (event.has_progress()) {
      (void)queue_.AppendEvent(job.id, "progress", ToJson(event.progress()));
    } else if (event.has_log_line()) {
      (void)queue_.AppendEvent(job.id, "log", event.log_line());
    } else if (event.has_result()) {
      installed = event.result();
      have_result = true;
    }
  }
  absl::Status status = FromGrpcStatus(reader->Finish());
  run.Detach();
  L4D2_RETURN_IF_ERROR(status);
  if (!have_result) return absl::UnavailableError("the agent's install ended without a result");
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
  std::unique_ptr<grpc::ClientReaderInterface<agent::v1::OverlaySyncEvent>> reader =
      stub->SyncOverlay(&context, request);
  agent::v1::OverlaySyncEvent event;
  agent::v1::OverlaySyncResult synced;
  bool have_result = false;
  while (reader->Read(&event)) {
    if (event.has_progress()) {
      (void)queue_.AppendEvent(job.id, "progress", ToJson(event.progress()));
    } else if (event.has_log_line()) {
      (void)queue_.AppendEvent(job.id, "log", event.log_line());
    } else if (event.has_result()) {
      synced = event.result();
      have_result = true;
    }
  }
  absl::Status status = FromGrpcStatus(reader->Finish());
  run.Detach();
  L4D2_RETURN_IF_ERROR(status);
  if (!have_result) return absl::UnavailableError("the agent's sync ended without a result");
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
    (void)queue_.AppendEvent(job.id, "step", absl::StrCat("sync overlay ", overlay.ref));
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
