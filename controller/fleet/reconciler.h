#pragma once

// Brings servers' actual state to their desired state, from what their hosts' agents report.
//
// Every `interval`, all ready hosts are asked at once for their instances (with the game's own
// view); each server placed on a host that answered gets the reported state and status (its row
// written only when they changed), and a running one a metric sample (players, CPU time,
// memory, A2S latency: the live figures, kept out of the row). Then, per server, unless a job of
// the server is already queued or running:
//   desired running, actual stopped or missing  a "server.start" job, with exponential backoff
//       (restart_backoff, doubling) and at most max_restarts until it runs again; after that
//       it stays down and the audit log says "server.gave_up" once
//   desired running, actual crashed             nothing: systemd restarts it with its own backoff
//   desired running, actual crash_loop          nothing: systemd's start limit stopped it, and
//       so does the controller; the state is visible and "server.crash_loop" is audited once
//       when it enters it. An operator's start or restart is the way out.
//   desired running, actual hung                "server.hung" audited when it enters it; a
//       "server.restart" job when its blueprint's restart.restart_when_hung says so, with the
//       same backoff and limit as starts (a process that hangs again and again is given up on)
//   desired stopped, actual running, starting or hung  a "server.stop" job
// A server whose game prints Steam's "needs to be restarted" request is audited
// "server.update_required" once, and a "game.check" queued (jobs/game_update.h).
// Servers with a job queued or running, or one that ended within `observation_lag`, are only
// observed. A host that does not answer keeps its servers' last state (host health marks it
// unreachable); servers are never started elsewhere, and a host that returns is reconciled by
// the next round. Every round then rolls up and prunes the metric history
// (store/metric_history.h).
//
// With several controllers on one database, one reconciles at a time: a round runs only while
// its controller holds the "reconciler" lease (store/leases.h, three intervals long, renewed
// every round); another takes over once it expires.

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "controller/jobs/agent_connector.h"
#include "controller/store/fleet_stores.h"
#include "l4d2/agent/v1/agent_service.pb.h"

namespace l4d2::controller {

// Asks hosts' agents for their instances; one answer per host, in order.
class InstanceLister {
 public:
  virtual ~InstanceLister() = default;
  virtual std::vector<absl::StatusOr<agent::v1::ListInstancesResponse>> ListAll(
      const std::vector<Host>& hosts) = 0;
};

// ListInstances through an AgentConnector, to all hosts at once, with a deadline.
class AgentInstanceLister final : public InstanceLister {
 public:
  AgentInstanceLister(AgentConnector& agents, absl::Duration timeout)
      : agents_(agents), timeout_(timeout) {}
  std::vector<absl::StatusOr<agent::v1::ListInstancesResponse>> ListAll(
      const std::vector<Host>& hosts) override;

 private:
  AgentConnector& agents_;
  const absl::Duration timeout_;
};

struct ReconcilerOptions {
  // This controller among those on the database (the lease's owner).
  std::string owner = "controller";
  absl::Duration interval = absl::Seconds(10);
  absl::Duration restart_backoff = absl::Seconds(10);
  int max_restarts = 5;
  // Players-online samples (one a minute per owner) kept for the dashboard.
  absl::Duration players_history_retention = absl::Hours(24 * 8);
  // How old an observation may be when the round reads it (host reports: the health interval
  // and a second). A server whose job ended within it is left alone for the round: a report
  // sent before the job ended must not undo it (a start, say, "corrected" by a stop).
  absl::Duration observation_lag = absl::ZeroDuration();
};

// What one round did, for logs and tests.
struct ReconcileReport {
  bool leader = false;  // false: another controller reconciles; this round did nothing
  int hosts_answered = 0;
  int servers_observed = 0;
  std::vector<std::string> started;  // server ids a start was queued for
  std::vector<std::string> stopped;
  std::vector<std::string> crash_loops;  // servers that entered the crash-loop state
  std::vector<std::string> hung;         // servers that entered the hung state
  std::vector<std::string> restarted;    // hung servers a restart was queued for
  std::vector<std::string> gave_up;
  // Servers that printed Steam's restart request this round (audited "server.update_required";
  // a "game.check" is queued so that a rolling policy moves them soon).
  std::vector<std::string> update_required;
};

class Reconciler {
 public:
  // Everything must outlive the reconciler.
  Reconciler(FleetStores& stores, InstanceLister& lister, ReconcilerOptions options);
  ~Reconciler();

  absl::StatusOr<ReconcileReport> Round();

  // Rounds every interval on a thread of its own, until Stop().
  void Start();
  void Stop();

 private:
  // Keeps the host's instances that no server names (`managed`: host id and instance name) as
  // its unmanaged ones (HostStore::SetUnmanaged).
  void RecordUnmanaged(const Host& host, const agent::v1::ListInstancesResponse& answer,
                       const absl::flat_hash_set<std::pair<std::string, std::string>>& managed);
  // A hung server whose blueprint says to restart it: a "server.restart" job (with backoff).
  void RestartHung(const Server& server, absl::Time now, ReconcileReport& report);
  // Queues the system's "server.<action>" job, counts it as a restart (the next one after the
  // doubled backoff) and audits it with `reason`; false when it could not be queued.
  bool QueueWithBackoff(const Server& server, const std::string& action, const std::string& reason,
                        absl::Time now);
  void Reconcile(const ObservedServer& observed, const absl::flat_hash_set<std::string>& busy,
                 ReconcileReport& report);

  FleetStores& stores_;
  InstanceLister& lister_;
  const ReconcilerOptions options_;
  absl::Mutex mutex_;
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  std::atomic<bool> held_{false};  // the lease, as of the last round
  std::thread thread_;
};

}  // namespace l4d2::controller
