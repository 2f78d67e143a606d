#pragma once

// The controller's workers: they claim jobs from the durable queue (store/job_queue.h) and run
// them against the hosts' agents over gRPC.
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
// Job kinds (parameters: l4d2.controller.v1 messages, proto/l4d2/controller/v1/jobs.proto):
//   host.install            install or update the game on a host
//   overlay.sync            bring one host to an overlay's current revision
//   server.create           place the server (if not yet), sync its overlays, initialize its
//                           instance, and start it when its desired state is running
//   server.start            place if needed, sync, initialize with the blueprint as it is now
//                           (blueprint changes apply at a server's next action), start
//   server.restart          as start, with the agent's restart
//   server.stop / .reset    stop; stop and wipe the writable layer
//   server.delete           delete the instance on its host, then forget the server
//   server.change_blueprint switch the blueprint; a placed server's instance takes the new spec
//                           (a running one at its next start)
// A server job whose host is unreachable is retried (UNAVAILABLE) and never moves the server.
// Steps and their operation ids: "<job>:sync:<overlay>:<revision>", "<job>:init", "<job>:start",
// "<job>:stop", "<job>:restart", "<job>:reset", "<job>:delete".

#include <deque>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "controller/jobs/agent_connector.h"
#include "controller/store/fleet_stores.h"
#include "grpcpp/support/sync_stream.h"

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
};

// "host.install" with its parameters as the queue stores them.
// The agent's state as the servers table keeps it: INSTANCE_STATE_CRASH_LOOP -> "crash_loop".
std::string InstanceStateName(agent::v1::InstanceState state);

NewJob HostInstallJob(const std::string& host_id, const std::string& created_by);
// "server.<action>" for one server, locked per server; `not_before` staggers bulk actions.
NewJob ServerJob(const std::string& action, const std::string& server_id,
                 const std::string& created_by, absl::Time not_before = absl::InfinitePast());
NewJob ChangeBlueprintJob(const std::string& server_id, const std::string& blueprint_id,
                          const std::string& created_by);
NewJob OverlaySyncJob(const std::string& overlay_id, const std::string& host_id,
                      const std::string& created_by);

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
  // Reads an agent operation's stream (install, sync) attached to `run` to its end: progress and
  // log lines become job events; the result, or UNAVAILABLE when the stream ended without one.
  template <typename StreamEvent>
  auto FollowStream(Run& run, const std::string& job_id,
                    std::unique_ptr<grpc::ClientReaderInterface<StreamEvent>> reader,
                    const char* what)
      -> absl::StatusOr<std::decay_t<decltype(StreamEvent().result())>>;
  absl::StatusOr<std::string> HostInstall(const Job& job, Run& run);
  absl::StatusOr<std::string> OverlaySync(const Job& job, Run& run);
  absl::StatusOr<std::string> ServerAction(const Job& job, Run& run);
  // Brings `host` to the current revision of `overlay_id`; the agent's result.
  absl::StatusOr<agent::v1::OverlaySyncResult> SyncToHost(const Job& job, Run& run,
                                                          const std::string& overlay_id,
                                                          const Host& host, int64_t* revision);
  // Syncs every overlay of the blueprint the host is behind on, then initializes the server's
  // instance with the blueprint's spec.
  absl::Status PrepareInstance(const Job& job, Run& run, const Server& server, const Host& host);

  FleetStores& stores_;
  JobQueue& queue_;
  HostStore& hosts_;
  AgentConnector& agents_;
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
