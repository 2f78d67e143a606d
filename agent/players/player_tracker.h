#pragma once

// Who is on one game server now, from its log stream (agent/game/game_log.h): players join when
// they enter the game and leave when they disconnect, a session spanning map changes (a player
// enters the game again on every map without leaving); the current map; whether Steam asked
// for a restart. The joins, leaves and map changes are also kept as numbered events (a bounded
// history) for those who follow them: the controller's player history.
//
// Packets can be lost and the agent can restart mid-session: Reconcile() with the game's own
// `status` adds the players it missed (joined when `status` says they connected) and ends the
// sessions of those no longer there. Bots are not players here.
//
// Not thread-safe: its owner serializes access.

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/time/time.h"
#include "agent/game/game_log.h"
#include "agent/game/rcon_status.h"

namespace l4d2::agent {

struct LivePlayer {
  GamePlayer player;
  absl::Time joined;  // when the agent saw them enter (or `status` said they connected)
};

struct PlayerEvent {
  enum class Kind { kJoined, kLeft, kMapChanged, kRestartRequired };
  int64_t seq = 0;  // 1, 2, ... per tracker
  absl::Time at;    // joined: when they joined (for one `status` found, when it says)
  Kind kind = Kind::kJoined;
  GamePlayer player;  // joined, left
  std::string text;   // left: the reason; map changed: the map
};

const char* PlayerEventKindName(PlayerEvent::Kind kind);

class PlayerTracker {
 public:
  // Keeps the newest `history` events.
  explicit PlayerTracker(size_t history = 4096);

  // One line of the log, received at `at`. True when the live state changed.
  bool Apply(const GameLogEvent& event, absl::Time at);

  // The game's `status` at `at`: players it lists and the tracker lacks join (when they
  // connected); players the tracker has and two `status` replies in a row do not list leave
  // (reason "not in status": their leave line was lost), so that one reply taken just before the
  // log's own leave line arrives does not end a stay with the wrong reason; its map becomes the
  // map.
  void Reconcile(const RconStatus& status, absl::Time at);

  // The server stopped (or was restarted): everyone left at `at` for `reason`, and Steam's
  // restart request is forgotten.
  void EndAll(absl::Time at, const std::string& reason);

  // Oldest join first.
  std::vector<LivePlayer> Players() const;
  size_t player_count() const { return players_.size(); }
  const std::string& map() const { return map_; }
  bool restart_required() const { return restart_required_; }
  // The newest event's number (0: none yet).
  int64_t last_seq() const { return next_seq_ - 1; }
  // Events numbered above `after`, oldest first, at most `limit`. Events older than the
  // history are gone: the first returned may be above after + 1.
  std::vector<PlayerEvent> EventsAfter(int64_t after, size_t limit) const;

 private:
  void Record(PlayerEvent::Kind kind, absl::Time at, const GamePlayer& player,
              std::string text = "");
  void Join(const GamePlayer& player, absl::Time joined);
  void Leave(int32_t user_id, absl::Time at, std::string reason);

  const size_t history_;
  absl::flat_hash_map<int32_t, LivePlayer> players_;  // by user id
  // Players the last `status` did not list (Reconcile: a second miss is a leave).
  absl::flat_hash_set<int32_t> unlisted_;
  std::string map_;
  bool restart_required_ = false;
  int64_t next_seq_ = 1;
  std::deque<PlayerEvent> events_;
};

}  // namespace l4d2::agent
