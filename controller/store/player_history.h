#pragma once

// Who played where and when (issue Players): what the agents' ListPlayerEvents answers say,
// kept in SQL on both backends.
//   player_sessions   one row per stay of a player on a server: joined, left (NULL while in the
//                     game) and why; a stay spans map changes.
//   player_events     each server's timeline: joined, left, map_changed, update_required, with
//                     time-ordered ids (the event streams tail it by id).
//   players           every player seen (SteamID64): the last name, first and last seen, the
//                     number of sessions and the seconds of the closed ones.
//   server_game_logs  each server's cursor in its agent's numbering (epoch, last event), its
//                     map, Steam's restart request and its players now.
// Every read a route makes is served by an index (tests/controller/store/route_plan_test.cc):
// a player's sessions by (steam_id, joined), a server's in a time window by (server_id,
// left_at, joined) (closed after the window's start, or open), names by prefix.
//
// Thread-safe (the database's sessions are leased per call).

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "common/clock.h"
#include "controller/store/database.h"
#include "l4d2/agent/v1/agent_service.pb.h"

namespace l4d2::controller {

struct PlayerSession {
  std::string id;
  std::string server_id;
  std::string steam_id;  // SteamID64 digits; "" when Steam had not validated the player
  int user_id = 0;
  std::string name;
  absl::Time joined;
  std::optional<absl::Time> left;  // nullopt: in the game now
  std::string reason;
};

struct PlayerTimelineEvent {
  std::string id;  // time ordered
  std::string server_id;
  absl::Time at;
  std::string kind;  // joined, left, map_changed, update_required
  std::string steam_id;
  std::string name;
  std::string text;  // left: the reason; map_changed: the map
  // EventsAfter only: the server's owner (the streams filter by it) and name.
  std::string owner_id;
  std::string server_name;
};

// What Steam's GetPlayerSummaries said of a player (fleet/steam_profiles.h); empty when it was
// never asked (no Web API key) or did not know the player.
struct SteamProfile {
  std::string steam_id;
  std::string persona_name;  // the Steam name, which may differ from the name in the game
  std::string avatar_url;    // 64x64, https on Steam's avatar hosts ("" when none)
  std::string profile_url;
  bool empty() const { return persona_name.empty() && avatar_url.empty(); }
};

struct PlayerSummary {
  std::string steam_id;
  std::string name;  // the last one seen
  absl::Time first_seen;
  absl::Time last_seen;
  int64_t sessions = 0;
  int64_t seconds = 0;  // of the closed sessions
  SteamProfile profile;
};

// A server's place in its agent's event numbering (ListPlayerEvents' cursor).
struct GameLogCursor {
  int64_t epoch = 0;
  int64_t seq = 0;
  bool operator==(const GameLogCursor&) const = default;
};

// One server's log state as the last recorded answer left it.
struct ServerGameLog {
  std::string server_id;
  GameLogCursor cursor;
  std::string map;
  bool update_required = false;
  int players = 0;
};

class PlayerHistory {
 public:
  // `db` and `clock` must outlive it.
  PlayerHistory(Database& db, Clock& clock) : db_(db), clock_(clock) {}

  // The server's cursor ({0, 0}: nothing recorded yet).
  absl::StatusOr<GameLogCursor> Cursor(const std::string& server_id);
  // One server's log state; nullopt before anything was recorded.
  absl::StatusOr<std::optional<ServerGameLog>> GameLog(const std::string& server_id);
  // Every server's log state (the feed's start).
  absl::StatusOr<std::vector<ServerGameLog>> GameLogs();

  // Records an agent's answer to ListPlayerEvents asked from `from`, in one transaction:
  // sessions opened and closed, the timeline, the players' totals, the cursor moved to the last
  // event. A join of someone whose session is open continues it (an agent that restarted
  // reports who is in the game again); with `reset`, open sessions of players neither in the
  // game nor named by an event ended while the agent was away. ABORTED when the cursor is no
  // longer `from` (another controller recorded it first): nothing is written. The timeline
  // events written, in order.
  absl::StatusOr<std::vector<PlayerTimelineEvent>> Record(
      const std::string& server_id, const GameLogCursor& from,
      const agent::v1::ListPlayerEventsResponse& answer);

  // A server's players in the game now, oldest join first.
  absl::StatusOr<std::vector<PlayerSession>> Online(const std::string& server_id);
  // A server's sessions that overlap [from, to), newest join first, at most `limit`.
  absl::StatusOr<std::vector<PlayerSession>> ServerSessions(const std::string& server_id,
                                                            absl::Time from, absl::Time to,
                                                            int limit);
  // A player's sessions, newest first, at most `limit`; with `owner_id`, on that user's
  // servers only.
  absl::StatusOr<std::vector<PlayerSession>> PlayerSessions(const std::string& steam_id,
                                                            const std::string& owner_id, int limit);
  // NOT_FOUND for a player never seen.
  absl::StatusOr<PlayerSummary> Player(const std::string& steam_id);
  // Players whose SteamID64 is `query`, or whose name starts with it (case-insensitive for
  // ASCII), by name; with `owner_id`, those who played on that user's servers.
  absl::StatusOr<std::vector<PlayerSummary>> Search(const std::string& query,
                                                    const std::string& owner_id, int limit);
  // A server's timeline, newest first: events with ids below `before` ("" for the newest).
  absl::StatusOr<std::vector<PlayerTimelineEvent>> Timeline(const std::string& server_id,
                                                            const std::string& before, int limit);
  // Every server's events with ids above `after`, oldest first, with their servers' owners
  // (the event streams' tail).
  absl::StatusOr<std::vector<PlayerTimelineEvent>> EventsAfter(const std::string& after, int limit);
  // The id of the newest event ("" when none): where a new tail starts.
  absl::StatusOr<std::string> LastEventId();

  // Steam profiles (fleet/steam_profiles.h), kept with the players they describe.
  // Of `steam_ids`, the recorded players whose profile was not asked for since `since`.
  absl::StatusOr<std::vector<std::string>> ProfilesDue(const std::vector<std::string>& steam_ids,
                                                       absl::Time since);
  // Stores `profiles` and marks every player of `asked` asked now (one Steam did not describe
  // keeps what it had: an account made private still has its last avatar).
  absl::Status SaveProfiles(const std::vector<std::string>& asked,
                            const std::vector<SteamProfile>& profiles);
  // The profiles known of `steam_ids` (one statement per 500), by SteamID64.
  absl::StatusOr<absl::flat_hash_map<std::string, SteamProfile>> Profiles(
      const std::vector<std::string>& steam_ids);

  // How many players are on each server of `server_ids` now, as its game log tells (A2S's
  // count before the log was heard); servers with nobody on are left out.
  absl::StatusOr<absl::flat_hash_map<std::string, int>> PlayersOn(
      absl::Span<const std::string> server_ids);

  // Deletes closed sessions that ended and events that happened before `before`, at most
  // `batch` rows of each; the rows deleted (0: nothing left to prune).
  absl::StatusOr<int64_t> Prune(absl::Time before, int batch);

 private:
  Database& db_;
  Clock& clock_;
};

// The players' figures for /metrics, from the index on server_game_logs alone: servers Steam
// asked to restart, players in the game (by the logs) in all and by server, sessions started
// on the servers that exist.
struct PlayerFigures {
  int64_t update_required = 0;
  int64_t players = 0;
  int64_t sessions_started = 0;
  std::vector<std::pair<std::string, int>> players_by_server;  // servers with players, by id
};
absl::StatusOr<PlayerFigures> CountPlayerFigures(Database& db);

// Whether `id` is a SteamID64 of an individual account (17 digits, 765611...).
bool IsSteamId64(absl::string_view id);

// The lower-case form names are searched by (ASCII letters folded; other bytes kept).
std::string PlayerNameKey(const std::string& name);

}  // namespace l4d2::controller
