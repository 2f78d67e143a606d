#include "controller/store/player_history.h"

#include <algorithm>

#include "absl/algorithm/container.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "controller/store/ids.h"
#include "controller/store/page.h"
#include "google/protobuf/util/time_util.h"
#include "soci/soci.h"

namespace l4d2::controller {
namespace {

using agent::v1::PlayerEvent;

absl::Time FromProto(const google::protobuf::Timestamp& at) {
  return absl::FromUnixNanos(google::protobuf::util::TimeUtil::TimestampToNanoseconds(at));
}

absl::Time FromMillis(long long ms) { return absl::FromUnixMillis(ms); }

std::string SteamIdOf(const agent::v1::LivePlayer& player) {
  return player.steam_id64() == 0 ? "" : std::to_string(player.steam_id64());
}

// Who a session belongs to: the SteamID64, or for one not validated yet the connection.
std::string KeyOf(const std::string& steam_id, int user_id) {
  return steam_id.empty() ? absl::StrCat("#", user_id) : steam_id;
}

const char* KindName(PlayerEvent::Kind kind) {
  switch (kind) {
    case PlayerEvent::KIND_JOINED:
      return "joined";
    case PlayerEvent::KIND_LEFT:
      return "left";
    case PlayerEvent::KIND_MAP_CHANGED:
      return "map_changed";
    case PlayerEvent::KIND_RESTART_REQUIRED:
      return "update_required";
    default:
      return "";
  }
}

constexpr char kSessionColumns[] =
    "id, server_id, steam_id, user_id, name, joined_at_ms, left_at_ms, reason";

PlayerSession SessionOf(const soci::row& row) {
  PlayerSession session{.id = row.get<std::string>(0),
                        .server_id = row.get<std::string>(1),
                        .steam_id = row.get<std::string>(2),
                        .user_id = row.get<int>(3),
                        .name = row.get<std::string>(4),
                        .joined = FromMillis(row.get<long long>(5))};
  if (row.get_indicator(6) == soci::i_ok) session.left = FromMillis(row.get<long long>(6));
  session.reason = row.get<std::string>(7);
  return session;
}

constexpr char kEventColumns[] = "id, server_id, at_ms, kind, steam_id, name, text";

PlayerTimelineEvent EventOf(const soci::row& row) {
  return {.id = row.get<std::string>(0),
          .server_id = row.get<std::string>(1),
          .at = FromMillis(row.get<long long>(2)),
          .kind = row.get<std::string>(3),
          .steam_id = row.get<std::string>(4),
          .name = row.get<std::string>(5),
          .text = row.get<std::string>(6)};
}

constexpr char kPlayerColumns[] =
    "steam_id, name, first_seen_ms, last_seen_ms, sessions, seconds, persona_name, avatar_url,"
    " profile_url";
constexpr int kPlayerColumnCount = 9;

PlayerSummary PlayerOf(const soci::row& row) {
  const std::string steam_id = row.get<std::string>(0);
  return {.steam_id = steam_id,
          .name = row.get<std::string>(1),
          .first_seen = FromMillis(row.get<long long>(2)),
          .last_seen = FromMillis(row.get<long long>(3)),
          .sessions = row.get<long long>(4),
          .seconds = row.get<long long>(5),
          .profile = {.steam_id = steam_id,
                      .persona_name = row.get<std::string>(6),
                      .avatar_url = row.get<std::string>(7),
                      .profile_url = row.get<std::string>(8)}};
}

constexpr char kGameLogColumns[] = "server_id, epoch, seq, map, update_required, players";

ServerGameLog GameLogOf(const soci::row& row) {
  return {.server_id = row.get<std::string>(0),
          .cursor = {row.get<long long>(1), row.get<long long>(2)},
          .map = row.get<std::string>(3),
          .update_required = row.get<int>(4) != 0,
          .players = row.get<int>(5)};
}

// The open sessions of one server, by player.
struct OpenSession {
  std::string id;
  std::string steam_id;
  absl::Time joined;
};

}  // namespace

std::string PlayerNameKey(const std::string& name) { return absl::AsciiStrToLower(name); }

bool IsSteamId64(absl::string_view id) {
  return id.size() == 17 && absl::c_all_of(id, absl::ascii_isdigit) &&
         absl::StartsWith(id, "765611");
}

absl::StatusOr<GameLogCursor> PlayerHistory::Cursor(const std::string& server_id) {
  GameLogCursor cursor;
  L4D2_RETURN_IF_ERROR(db_.WithSession([&](soci::session& sql) {
    long long epoch = 0, seq = 0;
    sql << "SELECT epoch, seq FROM server_game_logs WHERE server_id = :s", soci::use(server_id),
        soci::into(epoch), soci::into(seq);
    if (sql.got_data()) cursor = {epoch, seq};
    return absl::OkStatus();
  }));
  return cursor;
}

absl::StatusOr<std::optional<ServerGameLog>> PlayerHistory::GameLog(const std::string& server_id) {
  std::optional<ServerGameLog> log;
  L4D2_RETURN_IF_ERROR(db_.WithSession([&](soci::session& sql) {
    soci::rowset<soci::row> rows = (sql.prepare << "SELECT " << kGameLogColumns
                                                << " FROM server_game_logs WHERE server_id = :s",
                                    soci::use(server_id));
    for (const soci::row& row : rows) log = GameLogOf(row);
    return absl::OkStatus();
  }));
  return log;
}

absl::StatusOr<std::vector<ServerGameLog>> PlayerHistory::GameLogs() {
  std::vector<ServerGameLog> logs;
  L4D2_RETURN_IF_ERROR(db_.WithSession([&](soci::session& sql) {
    soci::rowset<soci::row> rows = (sql.prepare << "SELECT " << kGameLogColumns
                                                << " FROM server_game_logs ORDER BY server_id");
    for (const soci::row& row : rows) logs.push_back(GameLogOf(row));
    return absl::OkStatus();
  }));
  return logs;
}

absl::StatusOr<std::vector<PlayerTimelineEvent>> PlayerHistory::Record(
    const std::string& server_id, const GameLogCursor& from,
    const agent::v1::ListPlayerEventsResponse& answer) {
  std::vector<PlayerTimelineEvent> written;
  const absl::Time now = clock_.Now();
  absl::Status recorded = db_.Transact([&](soci::session& sql) -> absl::Status {
    written.clear();
    long long epoch = 0, seq = 0, started = 0;
    sql << "SELECT epoch, seq, sessions_started FROM server_game_logs WHERE server_id = :s",
        soci::use(server_id), soci::into(epoch), soci::into(seq), soci::into(started);
    const bool exists = sql.got_data();
    if (!(GameLogCursor{exists ? epoch : 0, exists ? seq : 0} == from)) {
      return absl::AbortedError("the server's game log cursor moved meanwhile");
    }
    absl::flat_hash_map<std::string, OpenSession> open;
    {
      soci::rowset<soci::row> rows =
          (sql.prepare << "SELECT id, steam_id, user_id, joined_at_ms FROM player_sessions"
                          " WHERE server_id = :s AND left_at_ms IS NULL",
           soci::use(server_id));
      for (const soci::row& row : rows) {
        const std::string steam_id = row.get<std::string>(1);
        open[KeyOf(steam_id, row.get<int>(2))] = {.id = row.get<std::string>(0),
                                                  .steam_id = steam_id,
                                                  .joined = FromMillis(row.get<long long>(3))};
      }
    }
    auto add_event = [&](absl::Time at, const std::string& kind, const std::string& steam_id,
                         const std::string& name, const std::string& text) {
      PlayerTimelineEvent event{.id = TimeOrderedId(now),
                                .server_id = server_id,
                                .at = at,
                                .kind = kind,
                                .steam_id = steam_id,
                                .name = name,
                                .text = text};
      long long at_ms = absl::ToUnixMillis(at);
      sql << "INSERT INTO player_events (id, server_id, at_ms, kind, steam_id, name, text)"
             " VALUES (:i, :s, :a, :k, :p, :n, :t)",
          soci::use(event.id), soci::use(server_id), soci::use(at_ms), soci::use(event.kind),
          soci::use(event.steam_id), soci::use(event.name), soci::use(event.text);
      written.push_back(std::move(event));
    };
    auto close = [&](const std::string& key, absl::Time at, const std::string& reason,
                     const std::string& name) {
      auto it = open.find(key);
      if (it == open.end()) return;
      long long left_ms = absl::ToUnixMillis(std::max(at, it->second.joined));
      sql << "UPDATE player_sessions SET left_at_ms = :l, reason = :r WHERE id = :i",
          soci::use(left_ms), soci::use(reason), soci::use(it->second.id);
      if (!it->second.steam_id.empty()) {
        long long seconds =
            std::max<int64_t>(0, (left_ms - absl::ToUnixMillis(it->second.joined)) / 1000);
        sql << "UPDATE players SET seconds = seconds + :d, last_seen_ms = :l WHERE steam_id = :p",
            soci::use(seconds), soci::use(left_ms), soci::use(it->second.steam_id);
      }
      add_event(absl::FromUnixMillis(left_ms), "left", it->second.steam_id, name, reason);
      open.erase(it);
    };

    if (answer.reset()) {
      // Whoever the agent no longer counts, and no event of this answer names, left unseen.
      absl::flat_hash_set<std::string> named;
      for (const agent::v1::LivePlayer& player : answer.players()) {
        named.insert(KeyOf(SteamIdOf(player), player.user_id()));
      }
      for (const PlayerEvent& event : answer.events()) {
        named.insert(KeyOf(SteamIdOf(event.player()), event.player().user_id()));
      }
      std::vector<std::string> gone;
      for (const auto& [key, session] : open) {
        if (!named.contains(key)) gone.push_back(key);
      }
      std::sort(gone.begin(), gone.end());
      for (const std::string& key : gone) close(key, now, "left while its agent was away", "");
    }
    for (const PlayerEvent& event : answer.events()) {
      const absl::Time at = FromProto(event.at());
      const std::string steam_id = SteamIdOf(event.player());
      const std::string key = KeyOf(steam_id, event.player().user_id());
      const std::string& name = event.player().name();
      switch (event.kind()) {
        case PlayerEvent::KIND_JOINED: {
          if (open.contains(key)) break;  // the same stay, told again
          OpenSession session{.id = TimeOrderedId(now), .steam_id = steam_id, .joined = at};
          long long joined_ms = absl::ToUnixMillis(at);
          int user_id = event.player().user_id();
          sql << "INSERT INTO player_sessions (id, server_id, steam_id, user_id, name,"
                 " joined_at_ms, reason) VALUES (:i, :s, :p, :u, :n, :j, '')",
              soci::use(session.id), soci::use(server_id), soci::use(steam_id), soci::use(user_id),
              soci::use(name), soci::use(joined_ms);
          if (!steam_id.empty()) {
            const std::string name_key = PlayerNameKey(name);
            sql << "INSERT INTO players (steam_id, name, name_key, first_seen_ms, last_seen_ms,"
                   " sessions, seconds) VALUES (:p, :n, :k, :j, :l, 1, 0)"
                   " ON CONFLICT (steam_id) DO UPDATE SET name = excluded.name,"
                   " name_key = excluded.name_key, last_seen_ms = excluded.last_seen_ms,"
                   " sessions = players.sessions + 1",
                soci::use(steam_id), soci::use(name), soci::use(name_key), soci::use(joined_ms),
                soci::use(joined_ms);
          }
          ++started;
          open[key] = std::move(session);
          add_event(at, "joined", steam_id, name, "");
          break;
        }
        case PlayerEvent::KIND_LEFT:
          close(key, at, event.text(), name);
          break;
        case PlayerEvent::KIND_MAP_CHANGED:
        case PlayerEvent::KIND_RESTART_REQUIRED:
          add_event(at, KindName(event.kind()), "", "", event.text());
          break;
        default:
          break;
      }
    }
    long long new_epoch = answer.epoch();
    long long new_seq =
        answer.events().empty() ? (answer.reset() ? 0 : from.seq) : answer.events().rbegin()->seq();
    int update_required = answer.restart_required() ? 1 : 0;
    int players = answer.players_size();
    long long now_ms = absl::ToUnixMillis(now);
    if (exists) {
      soci::statement update =
          (sql.prepare << "UPDATE server_game_logs SET epoch = :e, seq = :q, map = :m,"
                          " update_required = :u, players = :p, sessions_started = :n,"
                          " updated_at_ms = :t WHERE server_id = :s AND epoch = :fe AND seq = :fq",
           soci::use(new_epoch), soci::use(new_seq), soci::use(answer.map()),
           soci::use(update_required), soci::use(players), soci::use(started), soci::use(now_ms),
           soci::use(server_id), soci::use(epoch), soci::use(seq));
      update.execute(true);
      if (update.get_affected_rows() != 1) {
        return absl::AbortedError("the server's game log cursor moved meanwhile");
      }
    } else {
      sql << "INSERT INTO server_game_logs (server_id, epoch, seq, map, update_required,"
             " players, sessions_started, updated_at_ms) VALUES (:s, :e, :q, :m, :u, :p, :n, :t)",
          soci::use(server_id), soci::use(new_epoch), soci::use(new_seq), soci::use(answer.map()),
          soci::use(update_required), soci::use(players), soci::use(started), soci::use(now_ms);
    }
    return absl::OkStatus();
  });
  if (!recorded.ok()) return recorded;
  return written;
}

absl::StatusOr<std::vector<PlayerSession>> PlayerHistory::Online(const std::string& server_id) {
  std::vector<PlayerSession> sessions;
  L4D2_RETURN_IF_ERROR(db_.WithSession([&](soci::session& sql) {
    soci::rowset<soci::row> rows =
        (sql.prepare << "SELECT " << kSessionColumns
                     << " FROM player_sessions WHERE server_id = :s AND left_at_ms IS NULL",
         soci::use(server_id));
    for (const soci::row& row : rows) sessions.push_back(SessionOf(row));
    return absl::OkStatus();
  }));
  std::sort(sessions.begin(), sessions.end(), [](const PlayerSession& a, const PlayerSession& b) {
    return a.joined != b.joined ? a.joined < b.joined : a.id < b.id;
  });
  return sessions;
}

absl::StatusOr<std::vector<PlayerSession>> PlayerHistory::ServerSessions(
    const std::string& server_id, absl::Time from, absl::Time to, int limit) {
  std::vector<PlayerSession> sessions;
  long long from_ms = absl::ToUnixMillis(from), to_ms = absl::ToUnixMillis(to);
  L4D2_RETURN_IF_ERROR(db_.WithSession([&](soci::session& sql) {
    // Open ones, then those that ended after the window began: (server_id, left_at) in both.
    soci::rowset<soci::row> open =
        (sql.prepare << "SELECT " << kSessionColumns
                     << " FROM player_sessions WHERE server_id = :s AND left_at_ms IS NULL"
                        " AND joined_at_ms < :t",
         soci::use(server_id), soci::use(to_ms));
    for (const soci::row& row : open) sessions.push_back(SessionOf(row));
    soci::rowset<soci::row> closed =
        (sql.prepare << "SELECT " << kSessionColumns
                     << " FROM player_sessions WHERE server_id = :s AND left_at_ms >= :f"
                        " AND joined_at_ms < :t ORDER BY left_at_ms LIMIT :n",
         soci::use(server_id), soci::use(from_ms), soci::use(to_ms), soci::use(limit));
    for (const soci::row& row : closed) sessions.push_back(SessionOf(row));
    return absl::OkStatus();
  }));
  std::sort(sessions.begin(), sessions.end(), [](const PlayerSession& a, const PlayerSession& b) {
    return a.joined != b.joined ? a.joined > b.joined : a.id > b.id;
  });
  if (sessions.size() > static_cast<size_t>(limit)) sessions.resize(limit);
  return sessions;
}

absl::StatusOr<std::vector<PlayerSession>> PlayerHistory::PlayerSessions(
    const std::string& steam_id, const std::string& owner_id, int limit) {
  std::vector<PlayerSession> sessions;
  L4D2_RETURN_IF_ERROR(db_.WithSession([&](soci::session& sql) {
    if (owner_id.empty()) {
      soci::rowset<soci::row> rows = (sql.prepare << "SELECT " << kSessionColumns
                                                  << " FROM player_sessions WHERE steam_id = :p"
                                                     " ORDER BY joined_at_ms DESC LIMIT :n",
                                      soci::use(steam_id), soci::use(limit));
      for (const soci::row& row : rows) sessions.push_back(SessionOf(row));
    } else {
      soci::rowset<soci::row> rows =
          (sql.prepare << "SELECT ps.id, ps.server_id, ps.steam_id, ps.user_id, ps.name,"
                          " ps.joined_at_ms, ps.left_at_ms, ps.reason FROM player_sessions ps"
                          " JOIN servers s ON s.id = ps.server_id"
                          " WHERE ps.steam_id = :p AND s.owner_id = :o"
                          " ORDER BY ps.joined_at_ms DESC LIMIT :n",
           soci::use(steam_id), soci::use(owner_id), soci::use(limit));
      for (const soci::row& row : rows) sessions.push_back(SessionOf(row));
    }
    return absl::OkStatus();
  }));
  return sessions;
}

absl::StatusOr<PlayerSummary> PlayerHistory::Player(const std::string& steam_id) {
  std::optional<PlayerSummary> player;
  L4D2_RETURN_IF_ERROR(db_.WithSession([&](soci::session& sql) {
    soci::rowset<soci::row> rows =
        (sql.prepare << "SELECT " << kPlayerColumns << " FROM players WHERE steam_id = :p",
         soci::use(steam_id));
    for (const soci::row& row : rows) player = PlayerOf(row);
    return absl::OkStatus();
  }));
  if (!player.has_value()) {
    return absl::NotFoundError(absl::StrCat("player ", steam_id, " was never seen"));
  }
  return *player;
}

absl::StatusOr<std::vector<PlayerSummary>> PlayerHistory::Search(const std::string& query,
                                                                 const std::string& owner_id,
                                                                 int limit) {
  std::vector<PlayerSummary> players;
  const std::string low = PlayerNameKey(query);
  // The prefix's upper bound: its last byte one higher (names are UTF-8: never 0xFF).
  std::string high = low;
  if (!high.empty()) high.back() = static_cast<char>(static_cast<unsigned char>(high.back()) + 1);
  const bool digits = !query.empty() && absl::c_all_of(query, absl::ascii_isdigit);
  L4D2_RETURN_IF_ERROR(db_.WithSession([&](soci::session& sql) {
    // Of `ids`, those who played on the owner's servers: one statement for a page.
    auto visible = [&](const std::vector<std::string>& ids) {
      absl::flat_hash_set<std::string> shown;
      if (owner_id.empty() || ids.empty()) {
        shown.insert(ids.begin(), ids.end());
        return shown;
      }
      std::vector<std::string> params;
      const std::string in = IdIn(ids, params, "p.steam_id");
      params.push_back(owner_id);
      for (std::string& steam_id :
           ReadColumn(sql,
                      "SELECT p.steam_id FROM players p WHERE " + in +
                          " AND EXISTS (SELECT 1 FROM player_sessions ps"
                          " JOIN servers s ON s.id = ps.server_id"
                          " WHERE ps.steam_id = p.steam_id AND s.owner_id = :o)",
                      params)) {
        shown.insert(std::move(steam_id));
      }
      return shown;
    };
    if (digits) {
      soci::rowset<soci::row> rows =
          (sql.prepare << "SELECT " << kPlayerColumns << " FROM players WHERE steam_id = :p",
           soci::use(query));
      for (const soci::row& row : rows) players.push_back(PlayerOf(row));
    }
    if (digits && !players.empty() && visible({players.front().steam_id}).empty()) {
      players.clear();
    }
    // By name: pages of the index until `limit` visible ones (an operator's players are a few
    // of the fleet's: each page is checked, at most 20 pages).
    std::string after_key = low, after_id;
    for (int page = 0; page < 20 && static_cast<int>(players.size()) < limit; ++page) {
      std::vector<PlayerSummary> batch;
      std::vector<std::string> keys;
      {
        soci::rowset<soci::row> rows =
            (sql.prepare << "SELECT " << kPlayerColumns
                         << ", name_key FROM players WHERE name_key < :h AND"
                            " (name_key, steam_id) > (:k, :i)"
                            " ORDER BY name_key, steam_id LIMIT :n",
             soci::use(high), soci::use(after_key), soci::use(after_id), soci::use(limit));
        for (const soci::row& row : rows) {
          batch.push_back(PlayerOf(row));
          keys.push_back(row.get<std::string>(kPlayerColumnCount));
        }
      }
      if (page == 0 && low.empty()) break;  // an empty query names nobody
      std::vector<std::string> ids;
      for (const PlayerSummary& player : batch) ids.push_back(player.steam_id);
      const absl::flat_hash_set<std::string> shown = visible(ids);
      for (size_t i = 0; i < batch.size(); ++i) {
        after_key = keys[i];
        after_id = batch[i].steam_id;
        const bool seen = std::any_of(players.begin(), players.end(), [&](const auto& p) {
          return p.steam_id == batch[i].steam_id;
        });
        if (!seen && shown.contains(batch[i].steam_id)) players.push_back(batch[i]);
        if (static_cast<int>(players.size()) >= limit) break;
      }
      if (static_cast<int>(batch.size()) < limit) break;
    }
    return absl::OkStatus();
  }));
  return players;
}

absl::StatusOr<std::vector<PlayerTimelineEvent>> PlayerHistory::Timeline(
    const std::string& server_id, const std::string& before, int limit) {
  std::vector<PlayerTimelineEvent> events;
  const std::string below = before.empty() ? std::string("~") : before;  // '~' sorts after hex
  L4D2_RETURN_IF_ERROR(db_.WithSession([&](soci::session& sql) {
    soci::rowset<soci::row> rows =
        (sql.prepare << "SELECT " << kEventColumns
                     << " FROM player_events WHERE server_id = :s AND id < :b"
                        " ORDER BY id DESC LIMIT :n",
         soci::use(server_id), soci::use(below), soci::use(limit));
    for (const soci::row& row : rows) events.push_back(EventOf(row));
    return absl::OkStatus();
  }));
  return events;
}

absl::StatusOr<std::vector<PlayerTimelineEvent>> PlayerHistory::EventsAfter(
    const std::string& after, int limit) {
  std::vector<PlayerTimelineEvent> events;
  L4D2_RETURN_IF_ERROR(db_.WithSession([&](soci::session& sql) {
    soci::rowset<soci::row> rows =
        (sql.prepare << "SELECT e.id, e.server_id, e.at_ms, e.kind, e.steam_id, e.name, e.text,"
                        " s.owner_id, s.name FROM player_events e"
                        " JOIN servers s ON s.id = e.server_id"
                        " WHERE e.id > :a ORDER BY e.id LIMIT :n",
         soci::use(after), soci::use(limit));
    for (const soci::row& row : rows) {
      events.push_back(EventOf(row));
      events.back().owner_id = row.get<std::string>(7);
      events.back().server_name = row.get<std::string>(8);
    }
    return absl::OkStatus();
  }));
  return events;
}

absl::StatusOr<std::string> PlayerHistory::LastEventId() {
  std::string id;
  L4D2_RETURN_IF_ERROR(db_.WithSession([&](soci::session& sql) {
    soci::indicator indicator = soci::i_null;
    sql << "SELECT id FROM player_events ORDER BY id DESC LIMIT 1", soci::into(id, indicator);
    if (!sql.got_data() || indicator != soci::i_ok) id.clear();
    return absl::OkStatus();
  }));
  return id;
}

absl::StatusOr<std::vector<std::string>> PlayerHistory::ProfilesDue(
    const std::vector<std::string>& steam_ids, absl::Time since) {
  std::vector<std::string> due;
  const std::string since_ms = absl::StrCat(absl::ToUnixMillis(since));
  L4D2_RETURN_IF_ERROR(db_.WithSession([&](soci::session& sql) {
    for (size_t at = 0; at < steam_ids.size(); at += kIdsPerStatement) {
      std::vector<std::string> params;
      const std::string in =
          IdIn(absl::MakeConstSpan(steam_ids).subspan(at, kIdsPerStatement), params, "steam_id");
      params.push_back(since_ms);
      std::vector<std::string> chunk = ReadColumn(
          sql, "SELECT steam_id FROM players WHERE " + in + " AND profile_asked_ms < :t", params);
      due.insert(due.end(), std::make_move_iterator(chunk.begin()),
                 std::make_move_iterator(chunk.end()));
    }
    return absl::OkStatus();
  }));
  return due;
}

absl::Status PlayerHistory::SaveProfiles(const std::vector<std::string>& asked,
                                         const std::vector<SteamProfile>& profiles) {
  const long long now_ms = absl::ToUnixMillis(clock_.Now());
  return db_.Transact([&](soci::session& sql) -> absl::Status {
    for (const SteamProfile& profile : profiles) {
      sql << "UPDATE players SET persona_name = :n, avatar_url = :a, profile_url = :u"
             " WHERE steam_id = :p",
          soci::use(profile.persona_name), soci::use(profile.avatar_url),
          soci::use(profile.profile_url), soci::use(profile.steam_id);
    }
    for (size_t at = 0; at < asked.size(); at += kIdsPerStatement) {
      std::vector<std::string> params;
      const std::string in =
          IdIn(absl::MakeConstSpan(asked).subspan(at, kIdsPerStatement), params, "steam_id");
      soci::statement update(sql);
      update.exchange(soci::use(now_ms));
      for (const std::string& param : params) update.exchange(soci::use(param));
      update.alloc();
      update.prepare("UPDATE players SET profile_asked_ms = :t WHERE " + in);
      update.define_and_bind();
      update.execute(true);
    }
    return absl::OkStatus();
  });
}

absl::StatusOr<absl::flat_hash_map<std::string, int>> PlayerHistory::PlayersOn(
    absl::Span<const std::string> server_ids) {
  absl::flat_hash_map<std::string, int> on;
  L4D2_RETURN_IF_ERROR(db_.WithSession([&](soci::session& sql) {
    for (size_t at = 0; at < server_ids.size(); at += kIdsPerStatement) {
      std::vector<std::string> params;
      const std::string in = IdIn(server_ids.subspan(at, kIdsPerStatement), params, "s.id");
      std::string id;
      int players = 0;
      soci::statement select(sql);
      for (const std::string& param : params) select.exchange(soci::use(param));
      select.exchange(soci::into(id));
      select.exchange(soci::into(players));
      select.alloc();
      select.prepare(
          "SELECT s.id, COALESCE(g.players, s.players) FROM servers s"
          " LEFT JOIN server_game_logs g ON g.server_id = s.id WHERE " +
          in);
      select.define_and_bind();
      select.execute(false);
      while (select.fetch()) {
        if (players > 0) on[id] = players;
      }
    }
    return absl::OkStatus();
  }));
  return on;
}

absl::StatusOr<absl::flat_hash_map<std::string, SteamProfile>> PlayerHistory::Profiles(
    const std::vector<std::string>& steam_ids) {
  absl::flat_hash_map<std::string, SteamProfile> profiles;
  std::vector<std::string> ids;
  for (const std::string& id : steam_ids) {
    if (!id.empty()) ids.push_back(id);
  }
  absl::c_sort(ids);
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  L4D2_RETURN_IF_ERROR(db_.WithSession([&](soci::session& sql) {
    for (size_t at = 0; at < ids.size(); at += kIdsPerStatement) {
      std::vector<std::string> params;
      const std::string in =
          IdIn(absl::MakeConstSpan(ids).subspan(at, kIdsPerStatement), params, "steam_id");
      SteamProfile profile;
      soci::statement select(sql);
      for (const std::string& param : params) select.exchange(soci::use(param));
      select.exchange(soci::into(profile.steam_id));
      select.exchange(soci::into(profile.persona_name));
      select.exchange(soci::into(profile.avatar_url));
      select.exchange(soci::into(profile.profile_url));
      select.alloc();
      select.prepare(
          "SELECT steam_id, persona_name, avatar_url, profile_url FROM players"
          " WHERE " +
          in + " AND profile_asked_ms > 0");
      select.define_and_bind();
      select.execute(false);
      while (select.fetch()) {
        if (!profile.empty()) profiles[profile.steam_id] = profile;
      }
    }
    return absl::OkStatus();
  }));
  return profiles;
}

absl::StatusOr<int64_t> PlayerHistory::Prune(absl::Time before, int batch) {
  int64_t deleted = 0;
  long long before_ms = absl::ToUnixMillis(before);
  L4D2_RETURN_IF_ERROR(db_.Transact([&](soci::session& sql) {
    // Oldest first, by the indexes on left_at and at: a batch costs the batch.
    soci::statement sessions =
        (sql.prepare << "DELETE FROM player_sessions WHERE id IN (SELECT id FROM player_sessions"
                        " WHERE left_at_ms < :b ORDER BY left_at_ms LIMIT :n)",
         soci::use(before_ms), soci::use(batch));
    sessions.execute(true);
    deleted += sessions.get_affected_rows();
    soci::statement events =
        (sql.prepare << "DELETE FROM player_events WHERE id IN (SELECT id FROM player_events"
                        " WHERE at_ms < :b ORDER BY at_ms LIMIT :n)",
         soci::use(before_ms), soci::use(batch));
    events.execute(true);
    deleted += events.get_affected_rows();
    return absl::OkStatus();
  }));
  return deleted;
}

absl::StatusOr<PlayerFigures> CountPlayerFigures(Database& db) {
  PlayerFigures figures;
  L4D2_RETURN_IF_ERROR(db.WithSession([&](soci::session& sql) {
    long long required = 0, players = 0, started = 0;
    soci::indicator ri = soci::i_null, pi = soci::i_null, si = soci::i_null;
    sql << "SELECT CAST(SUM(update_required) AS BIGINT), CAST(SUM(players) AS BIGINT),"
           " CAST(SUM(sessions_started) AS BIGINT) FROM server_game_logs",
        soci::into(required, ri), soci::into(players, pi), soci::into(started, si);
    figures.update_required = ri == soci::i_ok ? required : 0;
    figures.players = pi == soci::i_ok ? players : 0;
    figures.sessions_started = si == soci::i_ok ? started : 0;
    soci::rowset<soci::row> rows =
        (sql.prepare << "SELECT server_id, players FROM server_game_logs WHERE players > 0"
                        " ORDER BY players, server_id");
    for (const soci::row& row : rows) {
      figures.players_by_server.emplace_back(row.get<std::string>(0), row.get<int>(1));
    }
    std::sort(figures.players_by_server.begin(), figures.players_by_server.end());
    return absl::OkStatus();
  }));
  return figures;
}

}  // namespace l4d2::controller
