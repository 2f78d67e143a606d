#pragma once

// The controller's workers: they claim jobs from the durable queue (store/job_queue.h) and run
// them (job_kinds.h) against the hosts' agents over gRPC. This is the machinery: claiming,
// running, leases, cancellation, retries and batched writes; what a job does is job_kinds'.
//
// Threads: a dispatcher claims jobs for idle workers (one transaction for all of them); the
// workers run them; a writer commits their events and endings in batches (whatever accumulated
// during the previous commit: one transaction at low load per job, many jobs per transaction
// under load); a renewer extends the leases of all running jobs at once every third of the
// lease, and hears of cancellations.
//
// Every agent call of a job carries an operation id made of the job id and the step
// ("<job>:install"), so a job run again after a controller died (its lease expired and another
// worker claimed it) re-attaches to the agent's running operation or gets its recorded outcome:
// no step runs twice. While a job runs its lease is renewed every third of its length; a
// cancellation request or a lost lease cancels the agent call. Agent errors that may pass
// (UNAVAILABLE, DEADLINE_EXCEEDED, ABORTED, RESOURCE_EXHAUSTED) are retried with the queue's
// backoff; others fail the job with the agent's message. Progress goes to the job's event log.
//
// What each job kind does: job_kinds.h.

#include <deque>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "controller/jobs/agent_client.h"
#include "controller/jobs/agent_connector.h"
#include "controller/jobs/job_kinds.h"
#include "controller/store/fleet_stores.h"

namespace l4d2::controller {

struct SchedulerOptions {
  // Unique per controller process: the lease owner of its jobs.
  std::string owner;
  int workers = 4;
  absl::Duration lease = absl::Seconds(30);
  // How long an idle worker waits before looking for work again.
  absl::Duration poll = absl::Milliseconds(200);
  // Deadline of one unary agent call (a start waits for systemd, a stop for the game).
  absl::Duration call_timeout = absl::Minutes(2);
  PlacementOptions placement;
  BackupDefaults backups;
  BackupVault* vault = nullptr;  // JobContext::vault
  // For webhook deliveries (JobContext).
  HttpPoster* http = nullptr;
  bool allow_private_targets = false;
};

class Scheduler {
 public:
  // Everything must outlive the scheduler.
  Scheduler(FleetStores& stores, AgentConnector& agents, SchedulerOptions options);
  ~Scheduler();

  void Start();
  // Stops claiming, cancels the agent calls in flight and puts their jobs back in the queue
  // (to be resumed, by operation id, by whoever claims them next); waits for the workers.
  void Stop();

 private:
  struct Run;
  void Dispatch();
  void Work();
  void WriteLoop();
  void RenewLoop();
  // Runs one claimed job and hands its end to the writer.
  void Execute(const Job& job);
  // Appends to a job's event log with the next write.
  void Event(const std::string& job_id, const std::string& kind, std::string data);
  FleetStores& stores_;
  JobQueue& queue_;
  GrpcAgentClient agents_;
  const SchedulerOptions options_;
  absl::Mutex mutex_;
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  bool writer_done_ ABSL_GUARDED_BY(mutex_) = false;  // the writer flushes, then ends
  int idle_ ABSL_GUARDED_BY(mutex_) = 0;
  bool jobs_ended_ ABSL_GUARDED_BY(mutex_) = false;  // since the dispatcher last looked
  std::deque<Job> ready_ ABSL_GUARDED_BY(mutex_);    // claimed, not yet started
  // Jobs started and not yet written as ended, by id.
  std::map<std::string, std::shared_ptr<Run>> running_ ABSL_GUARDED_BY(mutex_);
  std::vector<NewJobEvent> pending_events_ ABSL_GUARDED_BY(mutex_);
  std::vector<JobEnding> pending_endings_ ABSL_GUARDED_BY(mutex_);
  std::thread dispatcher_;
  std::thread writer_;
  std::thread renewer_;
  std::vector<std::thread> workers_;
};

}  // namespace l4d2::controller
