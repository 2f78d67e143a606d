#include "controller/jobs/scheduler.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/clock.h"
#include "common/logging.h"
#include "common/status_macros.h"
#include "rpc/proto_json.h"

namespace l4d2::controller {

// One job being run: what the renewer and Stop() need to reach its agent call, and the
// AgentCall its agent calls run under.
struct Scheduler::Run final : AgentCall {
  absl::Mutex mutex;
  std::function<void()> cancel_call ABSL_GUARDED_BY(mutex);  // of the call in flight
  bool cancelled ABSL_GUARDED_BY(mutex) = false;             // the call is (to be) cancelled
  bool cancel_requested ABSL_GUARDED_BY(mutex) = false;      // by a user, through the queue
  bool lease_lost ABSL_GUARDED_BY(mutex) = false;
  bool ending_pending ABSL_GUARDED_BY(mutex) = false;  // handed to the writer
  std::string kind;
  std::function<void(const std::string& kind, std::string data)> on_event;

  void Cancel() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex) {
    cancelled = true;
    if (cancel_call) cancel_call();
  }
  bool Attach(std::function<void()> cancel) override {
    absl::MutexLock lock(&mutex);
    cancel_call = std::move(cancel);
    return !cancelled;
  }
  void Detach() override {
    absl::MutexLock lock(&mutex);
    cancel_call = nullptr;
  }
  void Event(const std::string& kind, std::string data) override {
    on_event(kind, std::move(data));
  }
};

namespace {

bool Transient(const absl::Status& status) {
  return absl::IsUnavailable(status) || absl::IsDeadlineExceeded(status) ||
         absl::IsAborted(status) || absl::IsResourceExhausted(status);
}

}  // namespace

Scheduler::Scheduler(FleetStores& stores, AgentConnector& agents, SchedulerOptions options)
    : stores_(stores),
      queue_(stores.jobs),
      agents_(agents, options.call_timeout),
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
  run->on_event = [this, id = job.id](const std::string& kind, std::string data) {
    Event(id, kind, std::move(data));
  };
  {
    absl::MutexLock lock(&mutex_);
    running_[job.id] = run;
    if (stopping_) {
      absl::MutexLock run_lock(&run->mutex);
      run->Cancel();
    }
  }
  absl::StatusOr<JobOutcome> result =
      RunJob({.stores = stores_,
              .agents = agents_,
              .placement = options_.placement,
              .backups = options_.backups,
              .vault = options_.vault,
              .http = options_.http,
              .allow_private_targets = options_.allow_private_targets},
             job, *run);
  absl::MutexLock lock(&mutex_);
  absl::MutexLock run_lock(&run->mutex);
  if (run->lease_lost) {
    // Another worker owns the job now and will resume it by its operation ids.
    L4D2_LOG(WARNING) << "job " << job.id << ": lease lost";
    running_.erase(job.id);
    return;
  }
  JobEnding ending{.id = job.id, .owner = options_.owner, .not_before = stores_.clock.Now()};
  if (result.ok() && result->park_until.has_value()) {
    // Between its steps: back in the queue with its progress, no attempt used.
    ending.state = JobState::kQueued;
    ending.park = true;
    ending.not_before = *result->park_until;
    ending.result = std::move(result->result);
  } else if (result.ok()) {
    ending.state = JobState::kSucceeded;
    ending.result = std::move(result->result);
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
    // What alerts hear of (controller/fleet/alert_dispatcher.h): on behalf of whom it ran.
    (void)stores_.audit.Append(
        "system", "job.failed", job.id,
        AuditDetail({{"kind", job.kind}, {"error", std::string(result.status().message())}}),
        absl::StartsWith(job.created_by, "user:") ? job.created_by.substr(5) : "");
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
      } else if (ending.park) {
        // A run parked between its looks (a rolling update may look every few seconds for
        // hours): its job events say what it does; the log only its end.
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

}  // namespace l4d2::controller
