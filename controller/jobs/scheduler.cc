#include "controller/jobs/scheduler.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "common/status_macros.h"
#include "google/protobuf/util/json_util.h"
#include "grpcpp/client_context.h"
#include "l4d2/controller/v1/jobs.pb.h"
#include "rpc/grpc_status.h"

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
};

namespace {

bool Transient(const absl::Status& status) {
  return absl::IsUnavailable(status) || absl::IsDeadlineExceeded(status) ||
         absl::IsAborted(status) || absl::IsResourceExhausted(status);
}

template <typename Message>
absl::StatusOr<Message> FromJson(const std::string& json) {
  Message message;
  if (!google::protobuf::util::JsonStringToMessage(json, &message).ok()) {
    return absl::InvalidArgumentError("job parameters are not valid JSON of their message");
  }
  return message;
}

template <typename Message>
std::string ToJson(const Message& message) {
  std::string json;
  (void)google::protobuf::util::MessageToJsonString(message, &json);
  return json;
}

}  // namespace

NewJob HostInstallJob(const std::string& host_id, const std::string& created_by) {
  v1::HostInstallParams params;
  params.set_host_id(host_id);
  return {.kind = "host.install",
          .lock_key = "install:" + host_id,
          .params = ToJson(params),
          .created_by = created_by};
}

Scheduler::Scheduler(JobQueue& queue, HostStore& hosts, AgentConnector& agents,
                     SchedulerOptions options)
    : queue_(queue), hosts_(hosts), agents_(agents), options_(std::move(options)) {}

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
      job.kind == "host.install" ? HostInstall(job, run)
                                 : absl::StatusOr<std::string>(absl::InvalidArgumentError(
                                       absl::StrCat("unknown job kind '", job.kind, "'")));
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

}  // namespace l4d2::controller
