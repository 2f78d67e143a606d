#pragma once

// The controller's workers: they claim jobs from the durable queue (store/job_queue.h) and run
// them against the hosts' agents over gRPC.
//
// Every agent call of a job carries an operation id made of the job id and the step
// ("<job>:install"), so a job run again after a controller died (its lease expired and another
// worker claimed it) re-attaches to the agent's running operation or gets its recorded outcome:
// no step runs twice. While a job runs its lease is renewed every third of its length; a
// cancellation request or a lost lease cancels the agent call. Agent errors that may pass
// (UNAVAILABLE, DEADLINE_EXCEEDED, ABORTED, RESOURCE_EXHAUSTED) are retried with the queue's
// backoff; others fail the job with the agent's message. Progress goes to the job's event log.
//
// Job kinds: "host.install" (l4d2.controller.v1.HostInstallParams).

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "controller/jobs/agent_connector.h"
#include "controller/store/hosts.h"
#include "controller/store/job_queue.h"

namespace l4d2::controller {

struct SchedulerOptions {
  // Unique per controller process: the lease owner of its jobs.
  std::string owner;
  int workers = 4;
  absl::Duration lease = absl::Seconds(30);
  // How long an idle worker waits before looking for work again.
  absl::Duration poll = absl::Milliseconds(200);
};

// "host.install" with its parameters as the queue stores them.
NewJob HostInstallJob(const std::string& host_id, const std::string& created_by);

class Scheduler {
 public:
  // Everything must outlive the scheduler.
  Scheduler(JobQueue& queue, HostStore& hosts, AgentConnector& agents, SchedulerOptions options);
  ~Scheduler();

  void Start();
  // Stops claiming, cancels the agent calls in flight and puts their jobs back in the queue
  // (to be resumed, by operation id, by whoever claims them next); waits for the workers.
  void Stop();

 private:
  struct Run;
  void Work();
  // Runs one claimed job to its end in the queue.
  void Execute(const Job& job);
  absl::StatusOr<std::string> HostInstall(const Job& job, Run& run);

  JobQueue& queue_;
  HostStore& hosts_;
  AgentConnector& agents_;
  const SchedulerOptions options_;
  absl::Mutex mutex_;
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  std::vector<Run*> running_ ABSL_GUARDED_BY(mutex_);
  std::vector<std::thread> workers_;
};

}  // namespace l4d2::controller
