#pragma once

// Host health: every `interval` (start to start) the controller takes each enrolled host's info
// from the host's latest report (report_sources.h), or failing that asks its agent over gRPC.
// A host that has not been heard from for longer than `grace` becomes
// `unreachable`; an unreachable host that answers again is `ready`. Blips shorter than the grace
// change nothing. The monitor keeps the time of each host's last answer in memory and writes it
// to the database (the host's last_seen) at most every `seen_write_interval` per host, or at
// once when the host comes back, in one batched statement per round: an idle fleet of thousands
// of hosts costs a write per host a minute, not per round. A restarted controller (or another
// one) continues from last_seen, at most that interval old; but a monitor judges only
// silence it watched: a host counts as silent from its last answer or from this monitor's first
// round, whichever is later. A controller that was down for a while therefore does not mark
// every host whose first answer is slow (thousands of TLS handshakes at once after a restart
// take seconds). Servers are never moved on this account (issue 4: a host coming back is
// reconciled, not duplicated). Each answer's disk space also says whether the host's disk is
// nearly full (options' disk_low_percent), audited once per change whichever controller sees it.

#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/clock.h"
#include "controller/jobs/agent_connector.h"
#include "controller/store/audit_log.h"
#include "controller/store/hosts.h"
#include "l4d2/agent/v1/host.pb.h"

namespace l4d2::controller {

// A host's info, and when the host said it (unset: during this round).
struct HostAnswer {
  agent::v1::HostInfo info;
  std::optional<absl::Time> at;
};

// Hears from hosts, all at once: a silent host costs its timeout once per round, not once per
// host behind it.
class HostPinger {
 public:
  virtual ~HostPinger() = default;
  // One answer per host, in order.
  virtual std::vector<absl::StatusOr<HostAnswer>> PingAll(const std::vector<Host>& hosts) = 0;
};

// GetHostInfo through an AgentConnector, concurrently (gRPC's callback API), with a deadline.
class AgentPinger final : public HostPinger {
 public:
  AgentPinger(AgentConnector& agents, absl::Duration timeout)
      : agents_(agents), timeout_(timeout) {}
  std::vector<absl::StatusOr<HostAnswer>> PingAll(const std::vector<Host>& hosts) override;

 private:
  AgentConnector& agents_;
  const absl::Duration timeout_;
};

struct HostMonitorOptions {
  absl::Duration interval = absl::Seconds(5);
  absl::Duration grace = absl::Seconds(15);
  absl::Duration seen_write_interval = absl::Minutes(1);
  // A host whose disk's free space falls under this percentage of it is marked disk_low and
  // audited "host.disk_low" (an alert event) once; back over it by 5 points, "host.disk_ok".
  // 0: never judged.
  int disk_low_percent = 10;
};

struct HostTransition {
  std::string host_id;
  std::string from;
  std::string to;
};

class HostMonitor {
 public:
  // Everything must outlive the monitor; `audit` (may be null) records each state change.
  HostMonitor(HostStore& hosts, HostPinger& pinger, Clock& clock, HostMonitorOptions options,
              AuditLog* audit = nullptr);
  ~HostMonitor();

  // One round over every enrolled host; the state changes it made.
  std::vector<HostTransition> Round();

  // Rounds every interval on a thread of its own, until Stop().
  void Start();
  void Stop();

 private:
  // The last answer this monitor heard from the host (InfinitePast: none).
  absl::Time HeardFrom(const std::string& host_id) const;
  // Marks the host's disk low or not from its answer, audited when this call changed it.
  void JudgeDisk(const Host& host, const agent::v1::HostInfo& info);

  HostStore& hosts_;
  HostPinger& pinger_;
  Clock& clock_;
  const HostMonitorOptions options_;
  AuditLog* audit_;
  // Rounds run one at a time: these are the round's own.
  std::optional<absl::Time> watching_since_;              // the first round's start
  absl::flat_hash_map<std::string, absl::Time> heard_;    // host id -> its last answer
  absl::flat_hash_map<std::string, absl::Time> written_;  // host id -> last_seen last written
  // host id -> the build its agent reported last. A report can be older than an install job's
  // write of the build (reports come every interval): a build is written when the reports
  // change it, not whenever one differs from the row.
  absl::flat_hash_map<std::string, std::string> reported_build_;
  absl::Mutex mutex_;
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  std::thread thread_;
};

}  // namespace l4d2::controller
