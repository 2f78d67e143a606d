#include "absl/algorithm/container.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "controller/api/api_messages.h"
#include "controller/api/resource_routes.h"
#include "controller/api/rest_support.h"

namespace l4d2::controller {
namespace {

// A limit query parameter: `fallback` when absent, 1 to `max`.
absl::StatusOr<int> LimitQuery(const ApiRequest& request, int fallback, int max) {
  const std::string text = request.Query("limit");
  if (text.empty()) return fallback;
  int limit = 0;
  if (!absl::SimpleAtoi(text, &limit) || limit < 1 || limit > max) {
    return absl::InvalidArgumentError(absl::StrCat("limit: 1 to ", max));
  }
  return limit;
}

// A SteamID64: 17 digits starting 765611 (individual accounts).
absl::Status CheckSteamId(const std::string& id) {
  if (!IsSteamId64(id)) {
    return absl::InvalidArgumentError(
        absl::StrCat("steam_id: a SteamID64 (17 digits, 765611...), not '", id.substr(0, 40), "'"));
  }
  return absl::OkStatus();
}

// Who played where and when (store/player_history.h).
class PlayerRoutes {
 public:
  PlayerRoutes(const RestApiDeps& deps, const RestApiOptions&) : d_(deps) {}

  absl::StatusOr<ApiResponse> ServerSessions(const ApiRequest& request) {
    L4D2_ASSIGN_OR_RETURN(Server server, d_.stores.servers.Get(request.actor, request.Param("id")));
    const absl::Time now = d_.stores.clock.Now();
    L4D2_ASSIGN_OR_RETURN(absl::Time from, TimeQuery(request, "from", now - absl::Hours(24)));
    L4D2_ASSIGN_OR_RETURN(absl::Time to, TimeQuery(request, "to", now + absl::Seconds(1)));
    if (to <= from) return absl::InvalidArgumentError("to: must be after from");
    L4D2_ASSIGN_OR_RETURN(int limit, LimitQuery(request, 500, 5000));
    L4D2_ASSIGN_OR_RETURN(std::vector<PlayerSession> sessions,
                          d_.stores.players.ServerSessions(server.id, from, to, limit));
    v1::ListPlayerSessionsResponse response;
    for (const PlayerSession& session : sessions) {
      *response.add_sessions() = ToApi(session, server.name, now);
    }
    L4D2_RETURN_IF_ERROR(AddSteamProfiles(d_.stores.players, *response.mutable_sessions()));
    return Json(response);
  }

  absl::StatusOr<ApiResponse> ServerTimeline(const ApiRequest& request) {
    L4D2_ASSIGN_OR_RETURN(Server server, d_.stores.servers.Get(request.actor, request.Param("id")));
    L4D2_ASSIGN_OR_RETURN(int limit, LimitQuery(request, 100, 1000));
    const std::string before = request.Query("before");
    if (before.size() > 64 || !absl::c_all_of(before, absl::ascii_isxdigit)) {
      return absl::InvalidArgumentError("before: an event id");
    }
    L4D2_ASSIGN_OR_RETURN(std::vector<PlayerTimelineEvent> events,
                          d_.stores.players.Timeline(server.id, before, limit + 1));
    v1::ListPlayerEventsResponse response;
    for (size_t i = 0; i < events.size() && i < static_cast<size_t>(limit); ++i) {
      *response.add_events() = ToApi(events[i], server.name);
    }
    if (events.size() > static_cast<size_t>(limit)) {
      response.set_next_before(events[limit - 1].id);
    }
    return Json(response);
  }

  absl::StatusOr<ApiResponse> Search(const ApiRequest& request) {
    const std::string query(absl::StripAsciiWhitespace(request.Query("q")));
    if (query.empty() || query.size() > 64) {
      return absl::InvalidArgumentError("q: a name's first letters or a SteamID64, 1-64 bytes");
    }
    L4D2_ASSIGN_OR_RETURN(int limit, LimitQuery(request, 50, 200));
    L4D2_ASSIGN_OR_RETURN(std::vector<PlayerSummary> players,
                          d_.stores.players.Search(query, OwnerFilter(request), limit));
    v1::ListPlayersResponse response;
    for (const PlayerSummary& player : players) *response.add_players() = ToApi(player);
    return Json(response);
  }

  absl::StatusOr<ApiResponse> Player(const ApiRequest& request) {
    const std::string& steam_id = request.Param("steam_id");
    L4D2_RETURN_IF_ERROR(CheckSteamId(steam_id));
    L4D2_ASSIGN_OR_RETURN(int limit, LimitQuery(request, 100, 1000));
    L4D2_ASSIGN_OR_RETURN(PlayerSummary summary, d_.stores.players.Player(steam_id));
    L4D2_ASSIGN_OR_RETURN(std::vector<PlayerSession> sessions,
                          d_.stores.players.PlayerSessions(steam_id, OwnerFilter(request), limit));
    if (!request.actor.admin && sessions.empty()) {
      return absl::NotFoundError(
          absl::StrCat("player ", steam_id, " never played on your servers"));
    }
    std::vector<std::string> ids;
    for (const PlayerSession& session : sessions) ids.push_back(session.server_id);
    absl::c_sort(ids);
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    L4D2_ASSIGN_OR_RETURN(std::vector<Server> servers,
                          d_.stores.servers.GetMany(request.actor, ids));
    absl::flat_hash_map<std::string, std::string> names;
    for (const Server& server : servers) names[server.id] = server.name;
    const absl::Time now = d_.stores.clock.Now();
    v1::Player response = ToApi(summary);
    if (!request.actor.admin) {
      // An operator sees their servers' part of the player's history, totals included.
      response.set_sessions(static_cast<int64_t>(sessions.size()));
      response.set_seconds_played(0);
      for (const PlayerSession& session : sessions) {
        if (session.left) {
          response.set_seconds_played(response.seconds_played() +
                                      absl::ToInt64Seconds(*session.left - session.joined));
        }
      }
    }
    for (const PlayerSession& session : sessions) {
      *response.add_recent_sessions() = ToApi(session, names[session.server_id], now);
      if (!session.left) {
        response.set_online(true);
        response.set_seconds_played(response.seconds_played() +
                                    absl::ToInt64Seconds(now - session.joined));
      }
    }
    for (const std::string& id : ids) response.add_server_ids(id);
    return Json(response);
  }

 private:
  // Operators see the players of their own servers only.
  static std::string OwnerFilter(const ApiRequest& request) {
    return request.actor.admin ? "" : request.actor.user_id;
  }

  RestApiDeps d_;
};

}  // namespace

void AddPlayerRoutes(const RestApiDeps& deps, const RestApiOptions& options,
                     std::vector<Route>& routes) {
  auto api = std::make_shared<PlayerRoutes>(deps, options);
  using M = PlayerRoutes;
  auto bind = [api](auto method) { return BindRoute(api, method); };
  AppendRoutes(routes,
               {
                   {.method = "GET",
                    .path = "/api/v1/servers/{id}/sessions",
                    .summary = "Who played on the server between from and to (default: the last "
                               "24 hours), newest join first",
                    .response = v1::ListPlayerSessionsResponse::descriptor(),
                    .query = {"from", "to", "limit"},
                    .handler = bind(&M::ServerSessions)},
                   {.method = "GET",
                    .path = "/api/v1/servers/{id}/timeline",
                    .summary = "The server's joins, leaves, map changes and update requests, "
                               "newest first",
                    .response = v1::ListPlayerEventsResponse::descriptor(),
                    .query = {"before", "limit"},
                    .handler = bind(&M::ServerTimeline)},
                   {.method = "GET",
                    .path = "/api/v1/players",
                    .summary = "Players whose name starts with q, or whose SteamID64 is q",
                    .response = v1::ListPlayersResponse::descriptor(),
                    .query = {"q", "limit"},
                    .handler = bind(&M::Search)},
                   {.method = "GET",
                    .path = "/api/v1/players/{steam_id}",
                    .summary = "A player: totals, newest sessions, the servers they played on",
                    .response = v1::Player::descriptor(),
                    .query = {"limit"},
                    .handler = bind(&M::Player)},
               });
}

}  // namespace l4d2::controller
