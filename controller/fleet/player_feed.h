#pragma once

// Keeps the player history (store/player_history.h) up with the agents' game logs. Each host
// report carries, per instance, where its agent's event numbering is (status.log: epoch and
// last event); a server whose recorded cursor is behind has its new events read from its agent
// (ListPlayerEvents, one short call) and recorded in one transaction. A host's report is looked
// at as soon as it arrives (Notify, from the report receiver: an agent reports within its
// min_gap of a join), and every host's latest report every `interval` (a report whose Notify
// was missed, one that arrived while a call failed). Nothing is polled from the agents.
//
// Several controllers on one database may each see the same report: the cursor moves in the
// transaction that records the events, from where the reader found it, so the second finds it
// moved (ABORTED), rereads it and has nothing left to do. No event is recorded twice.

#include <cstdint>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "controller/fleet/host_reports.h"
#include "controller/jobs/agent_client.h"
#include "controller/store/fleet_stores.h"

namespace l4d2::controller {

struct PlayerFeedOptions {
  absl::Duration interval = absl::Seconds(5);
  // How old a host's report may be to be looked at by the interval's round.
  absl::Duration freshness = absl::Minutes(1);
  // How often a host's servers are read again to find an instance not known yet.
  absl::Duration servers_refresh = absl::Seconds(10);
  int page = 500;  // events per call
  // Called after events were recorded (the event streams' Wake); may be empty.
  std::function<void()> recorded;
  // Called with the SteamIDs of the joins recorded (the Steam profiles' Want); may be empty.
  std::function<void(const std::vector<std::string>&)> joined;
};

struct PlayerFeedCounters {
  int64_t calls = 0;      // ListPlayerEvents calls
  int64_t events = 0;     // timeline events recorded
  int64_t failures = 0;   // calls or records that failed (retried at the next report)
  int64_t conflicts = 0;  // another controller recorded first
};

class PlayerFeed {
 public:
  // Everything must outlive the feed.
  PlayerFeed(FleetStores& stores, const HostReportBook& book, AgentClient& agents,
             PlayerFeedOptions options = {});
  ~PlayerFeed();

  // A report of `host_id` was accepted: look at it now.
  void Notify(const std::string& host_id);
  // Looks at the latest reports of `host_ids` (empty: every host); the servers brought up to
  // date.
  int Round(const absl::flat_hash_set<std::string>& host_ids = {});

  PlayerFeedCounters counters() const;

  void Start();
  void Stop();

 private:
  struct HostServers {
    absl::flat_hash_map<std::string, std::string> by_instance;  // instance name -> server id
    absl::Time read = absl::InfinitePast();
  };
  // Brings one server up to its agent's `last_event`; true when it recorded something.
  bool CatchUp(const Host& host, const std::string& server_id, const std::string& instance,
               const agent::v1::GameLogState& log);
  const std::string* ServerOf(const Host& host, const std::string& instance, bool refresh);

  FleetStores& stores_;
  const HostReportBook& book_;
  AgentClient& agents_;
  const PlayerFeedOptions options_;
  // Round's (one at a time).
  absl::Mutex round_mutex_;
  absl::flat_hash_map<std::string, GameLogCursor> cursors_ ABSL_GUARDED_BY(round_mutex_);
  // Steam's restart request as recorded: it can end without an event (the server restarted).
  absl::flat_hash_map<std::string, bool> update_required_ ABSL_GUARDED_BY(round_mutex_);
  bool cursors_loaded_ ABSL_GUARDED_BY(round_mutex_) = false;
  absl::flat_hash_map<std::string, HostServers> servers_ ABSL_GUARDED_BY(round_mutex_);
  absl::flat_hash_map<std::string, Host> hosts_ ABSL_GUARDED_BY(round_mutex_);
  absl::Time hosts_read_ ABSL_GUARDED_BY(round_mutex_) = absl::InfinitePast();

  mutable absl::Mutex mutex_;
  absl::flat_hash_set<std::string> notified_ ABSL_GUARDED_BY(mutex_);
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  PlayerFeedCounters counters_ ABSL_GUARDED_BY(mutex_);
  std::thread thread_;
};

}  // namespace l4d2::controller
