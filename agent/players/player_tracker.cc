#include "agent/players/player_tracker.h"

#include <algorithm>

#include "absl/container/flat_hash_set.h"

namespace l4d2::agent {
namespace {

bool IsBot(const GamePlayer& player) { return player.steam_id == "BOT"; }

}  // namespace

const char* PlayerEventKindName(PlayerEvent::Kind kind) {
  switch (kind) {
    case PlayerEvent::Kind::kJoined:
      return "player_joined";
    case PlayerEvent::Kind::kLeft:
      return "player_left";
    case PlayerEvent::Kind::kMapChanged:
      return "map_changed";
    case PlayerEvent::Kind::kRestartRequired:
      return "restart_required";
  }
  return "unknown";
}

PlayerTracker::PlayerTracker(size_t history) : history_(std::max<size_t>(history, 1)) {}

void PlayerTracker::Record(PlayerEvent::Kind kind, absl::Time at, const GamePlayer& player,
                           std::string text) {
  events_.push_back(PlayerEvent{
      .seq = next_seq_++, .at = at, .kind = kind, .player = player, .text = std::move(text)});
  while (events_.size() > history_) events_.pop_front();
}

void PlayerTracker::Join(const GamePlayer& player, absl::Time joined) {
  players_[player.user_id] = LivePlayer{.player = player, .joined = joined};
  // At when they joined: for one `status` found, when it says they connected.
  Record(PlayerEvent::Kind::kJoined, joined, player);
}

void PlayerTracker::Leave(int32_t user_id, absl::Time at, std::string reason) {
  auto it = players_.find(user_id);
  if (it == players_.end()) return;
  Record(PlayerEvent::Kind::kLeft, at, it->second.player, std::move(reason));
  players_.erase(it);
}

bool PlayerTracker::Apply(const GameLogEvent& event, absl::Time at) {
  using Kind = GameLogEvent::Kind;
  switch (event.kind) {
    case Kind::kEntered: {
      if (IsBot(event.player)) return false;
      auto it = players_.find(event.player.user_id);
      // Entering again on the next map, or after a name change we missed: the same session.
      if (it != players_.end() && it->second.player.steam_id == event.player.steam_id) {
        it->second.player.name = event.player.name;
        return false;
      }
      // A user id the server gave someone else: the one before left without a line we saw.
      if (it != players_.end()) Leave(event.player.user_id, at, "replaced");
      Join(event.player, at);
      return true;
    }
    case Kind::kDisconnected: {
      if (!players_.contains(event.player.user_id)) return false;
      Leave(event.player.user_id, at, event.text);
      return true;
    }
    case Kind::kNameChanged: {
      auto it = players_.find(event.player.user_id);
      if (it == players_.end()) return false;
      it->second.player.name = event.text;
      return true;
    }
    case Kind::kJoinedTeam: {
      auto it = players_.find(event.player.user_id);
      if (it == players_.end()) return false;
      it->second.player.team = event.text;
      return true;
    }
    case Kind::kValidated: {
      // The SteamID a player connected with is final once Steam validated it.
      auto it = players_.find(event.player.user_id);
      if (it == players_.end() || it->second.player.steam_id == event.player.steam_id) {
        return false;
      }
      it->second.player.steam_id = event.player.steam_id;
      it->second.player.steam_id64 = event.player.steam_id64;
      return true;
    }
    case Kind::kMapStarted: {
      if (event.text == map_) return false;
      map_ = event.text;
      Record(PlayerEvent::Kind::kMapChanged, at, GamePlayer(), map_);
      return true;
    }
    case Kind::kRestartRequired: {
      if (restart_required_) return false;
      restart_required_ = true;
      Record(PlayerEvent::Kind::kRestartRequired, at, GamePlayer());
      return true;
    }
    default:
      return false;
  }
}

void PlayerTracker::Reconcile(const RconStatus& status, absl::Time at) {
  absl::flat_hash_set<int32_t> listed;
  for (const RconStatusPlayer& seen : status.players) {
    if (seen.bot) continue;
    listed.insert(seen.user_id);
    auto it = players_.find(seen.user_id);
    if (it != players_.end() && it->second.player.steam_id == seen.steam_id) continue;
    if (it != players_.end()) Leave(seen.user_id, at, "replaced");
    Join(GamePlayer{.name = seen.name,
                    .user_id = seen.user_id,
                    .steam_id = seen.steam_id,
                    .steam_id64 = SteamId64(seen.steam_id)},
         at - seen.connected);
  }
  std::vector<int32_t> gone;
  absl::flat_hash_set<int32_t> unlisted;
  for (const auto& [user_id, player] : players_) {
    if (listed.contains(user_id)) continue;
    if (unlisted_.contains(user_id)) {
      gone.push_back(user_id);
    } else {
      unlisted.insert(user_id);  // its leave line may still be on its way
    }
  }
  unlisted_ = std::move(unlisted);
  std::sort(gone.begin(), gone.end());
  for (int32_t user_id : gone) Leave(user_id, at, "not in status");
  if (!status.map.empty() && status.map != map_) {
    map_ = status.map;
    Record(PlayerEvent::Kind::kMapChanged, at, GamePlayer(), map_);
  }
}

void PlayerTracker::EndAll(absl::Time at, const std::string& reason) {
  for (const LivePlayer& player : Players()) Leave(player.player.user_id, at, reason);
  // A new process: Steam's request was the old one's (it asks again if the build is still old).
  restart_required_ = false;
}

std::vector<LivePlayer> PlayerTracker::Players() const {
  std::vector<LivePlayer> players;
  players.reserve(players_.size());
  for (const auto& [user_id, player] : players_) players.push_back(player);
  std::sort(players.begin(), players.end(), [](const LivePlayer& a, const LivePlayer& b) {
    return a.joined != b.joined ? a.joined < b.joined : a.player.user_id < b.player.user_id;
  });
  return players;
}

std::vector<PlayerEvent> PlayerTracker::EventsAfter(int64_t after, size_t limit) const {
  std::vector<PlayerEvent> out;
  // Numbers are consecutive: the first wanted is at a known offset.
  const int64_t first = events_.empty() ? next_seq_ : events_.front().seq;
  size_t index = after + 1 <= first ? 0 : static_cast<size_t>(after + 1 - first);
  for (; index < events_.size() && out.size() < limit; ++index) out.push_back(events_[index]);
  return out;
}

}  // namespace l4d2::agent
