#pragma once

// The agent's end of the game servers' log streams: packets from the log socket
// (agent/os/log_socket.h) are taken when they come from an instance's game port with that
// instance's sv_logsecret, parsed (agent/game/game_log.h) and applied to the instance's
// PlayerTracker. Anything else (another port, no secret or another, not a log packet, a line
// that does not parse) changes nothing and is counted. Each packet costs a bounded amount of
// work (a decode of at most kMaxGameLogPacket bytes, a hash lookup): a flood costs CPU in
// proportion, never memory or state.
//
// Thread-safe, but Poll() is called from one thread at a time: Start()'s, or a test's.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "agent/os/log_socket.h"
#include "agent/players/player_tracker.h"
#include "common/clock.h"
#include "l4d2/agent/v1/agent_service.pb.h"

namespace l4d2::agent {

// An instance that sends its log: its game port (the packets' source port) and sv_logsecret.
struct LogSender {
  int port = 0;
  std::string secret;
};

struct GameLogCounters {
  int64_t lines = 0;           // taken and parsed
  int64_t unknown_sender = 0;  // from a port no instance has, or from another host
  int64_t refused = 0;         // without the sender's secret (forged)
  int64_t malformed = 0;       // not a log packet, or a line that does not parse
};

// What the log says of an instance now.
struct InstancePlayers {
  std::vector<LivePlayer> players;
  std::string map;
  bool restart_required = false;
  int64_t last_seq = 0;
};

class GameLogService {
 public:
  // `socket` and `clock` must outlive the service. `on_events` (may be empty) is called, on
  // the polling thread and without the service's lock, after packets that made events: the
  // host reporter's Nudge, so that the controllers hear of a join within a report's gap.
  GameLogService(LogSocket& socket, Clock& clock, std::function<void()> on_events = {});
  ~GameLogService();

  // The instances whose lines are taken, by name. An instance no longer named is forgotten
  // with its state; one whose port or secret changed keeps its state.
  void SetSenders(const absl::flat_hash_map<std::string, LogSender>& senders);

  // The addresses packets may come from besides 127.0.0.0/8 (the listener's own, the servers'
  // bind_ip): the kernel drops packets from outside that claim a local source, so with the
  // game-port check only this host's processes can send here at all. Empty: any.
  void AllowSources(absl::flat_hash_set<uint32_t> ips);

  // Applies what arrives within `timeout`.
  void Poll(absl::Duration timeout);
  // Applies one packet received at `at` (Poll's body, and the benchmark's).
  void Apply(const LogPacket& packet, absl::Time at);

  // Reconciles an instance with its `status` (PlayerTracker::Reconcile).
  void Reconcile(const std::string& name, const RconStatus& status);
  // The instance's server stopped or restarted: everyone in the game left, Steam's restart
  // request forgotten (PlayerTracker::EndAll).
  void EndSessions(const std::string& name, const std::string& reason);

  // The agent API's views: an instance's state (nullopt for an instance not sending), and its
  // events after a cursor (NOT_FOUND for an instance not sending; `limit` 1-1000).
  std::optional<v1::GameLogState> State(const std::string& name) const;
  absl::StatusOr<v1::ListPlayerEventsResponse> ListEvents(const std::string& name, int64_t epoch,
                                                          int64_t after, int limit) const;

  std::optional<InstancePlayers> Players(const std::string& name) const;
  // An instance's events after `after` (PlayerTracker::EventsAfter).
  std::vector<PlayerEvent> EventsAfter(const std::string& name, int64_t after, size_t limit) const;
  GameLogCounters counters() const;

  void Start();
  void Stop();

 private:
  struct Instance {
    LogSender sender;
    PlayerTracker tracker;
    int64_t epoch = 0;
  };
  // True when the packet made an event (a join, a leave, a map, an update request).
  bool ApplyLocked(const LogPacket& packet, absl::Time at) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  LogSocket& socket_;
  Clock& clock_;
  const std::function<void()> on_events_;
  mutable absl::Mutex mutex_;
  // Epochs are the time an instance's history began, in ns, strictly increasing.
  int64_t last_epoch_ ABSL_GUARDED_BY(mutex_) = 0;
  absl::flat_hash_map<std::string, Instance> instances_ ABSL_GUARDED_BY(mutex_);
  absl::flat_hash_map<int, std::string> by_port_ ABSL_GUARDED_BY(mutex_);
  absl::flat_hash_set<uint32_t> sources_ ABSL_GUARDED_BY(mutex_);
  GameLogCounters counters_ ABSL_GUARDED_BY(mutex_);
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  std::vector<LogPacket> buffer_;  // Poll's
  std::thread thread_;
};

// Fills each instance's status.log with what the service knows of it (the agent API's and the
// host report's view).
void AddGameLogState(const GameLogService& log, v1::Instance& instance);
void AddGameLogStates(const GameLogService& log, v1::ListInstancesResponse& list);

}  // namespace l4d2::agent
