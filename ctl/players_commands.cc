// l4d2ctl players ...: who is on a server, who played there, and a player's history
// (the controller's player history, GET /api/v1/players and /servers/{id}/...).

#include <ostream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "ctl/controller_commands.h"
#include "ctl/controller_support.h"
#include "ctl/exit_codes.h"

namespace l4d2::ctl {
namespace {

// A query value, percent-encoded (RFC 3986 unreserved characters kept).
std::string QueryValue(const std::string& value) {
  std::string out;
  for (const unsigned char c : value) {
    if (absl::ascii_isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      absl::StrAppendFormat(&out, "%%%02X", c);
    }
  }
  return out;
}

// "1h02m", "5m03s", "12s".
std::string Played(int64_t seconds) {
  if (seconds >= 3600) return absl::StrFormat("%dh%02dm", seconds / 3600, seconds % 3600 / 60);
  if (seconds >= 60) return absl::StrFormat("%dm%02ds", seconds / 60, seconds % 60);
  return absl::StrFormat("%ds", seconds);
}

void PrintSessions(const CommandContext& context,
                   const google::protobuf::RepeatedPtrField<v1::PlayerSession>& sessions,
                   bool with_server) {
  if (with_server) {
    *context.out << absl::StrFormat("%-20s %-20s %-17s %-20s %-8s %s\n", "SERVER", "NAME",
                                    "STEAMID", "JOINED", "PLAYED", "LEFT");
  } else {
    *context.out << absl::StrFormat("%-20s %-17s %-20s %-8s %s\n", "NAME", "STEAMID", "JOINED",
                                    "PLAYED", "LEFT");
  }
  for (const v1::PlayerSession& session : sessions) {
    const std::string left =
        session.has_left_at() ? absl::StrCat(Time(session.left_at()), " (", session.reason(), ")")
                              : "in the game";
    const std::string steam_id = session.steam_id().empty() ? "-" : session.steam_id();
    if (with_server) {
      *context.out << absl::StrFormat("%-20s %-20s %-17s %-20s %-8s %s\n", session.server_name(),
                                      session.name(), steam_id, Time(session.joined_at()),
                                      Played(session.seconds()), left);
    } else {
      *context.out << absl::StrFormat("%-20s %-17s %-20s %-8s %s\n", session.name(), steam_id,
                                      Time(session.joined_at()), Played(session.seconds()), left);
    }
  }
}

}  // namespace

int RunPlayersOnline(const CommandContext& context, const Invocation& invocation) {
  absl::StatusOr<std::string> id = ServerId(context, invocation.args[0]);
  if (!id.ok()) return Report(context, id.status());
  absl::StatusOr<v1::ServerPlayersResponse> players =
      Get<v1::ServerPlayersResponse>(context, "/api/v1/servers/" + *id + "/players");
  if (!players.ok()) return Report(context, players.status());
  if (context.json) {
    *context.out << ToJson(*players) << "\n";
    return kExitOk;
  }
  *context.out << "map: " << (players->map().empty() ? "-" : players->map())
               << (players->update_required() ? "  (update required: restart for Steam's update)"
                                              : "")
               << "\n";
  PrintSessions(context, players->sessions(), /*with_server=*/false);
  return kExitOk;
}

int RunPlayersSessions(const CommandContext& context, const Invocation& invocation) {
  absl::StatusOr<std::string> id = ServerId(context, invocation.args[0]);
  if (!id.ok()) return Report(context, id.status());
  std::string path = "/api/v1/servers/" + *id + "/sessions";
  if (invocation.args.size() > 1) path += "?from=" + QueryValue(invocation.args[1]);
  absl::StatusOr<v1::ListPlayerSessionsResponse> sessions =
      Get<v1::ListPlayerSessionsResponse>(context, path);
  if (!sessions.ok()) return Report(context, sessions.status());
  if (context.json) {
    *context.out << ToJson(*sessions) << "\n";
    return kExitOk;
  }
  PrintSessions(context, sessions->sessions(), /*with_server=*/false);
  return kExitOk;
}

int RunPlayersTimeline(const CommandContext& context, const Invocation& invocation) {
  absl::StatusOr<std::string> id = ServerId(context, invocation.args[0]);
  if (!id.ok()) return Report(context, id.status());
  absl::StatusOr<v1::ListPlayerEventsResponse> events =
      Get<v1::ListPlayerEventsResponse>(context, "/api/v1/servers/" + *id + "/timeline");
  if (!events.ok()) return Report(context, events.status());
  if (context.json) {
    *context.out << ToJson(*events) << "\n";
    return kExitOk;
  }
  *context.out << absl::StrFormat("%-20s %-16s %-20s %s\n", "AT", "EVENT", "PLAYER", "DETAIL");
  for (const v1::PlayerEvent& event : events->events()) {
    *context.out << absl::StrFormat("%-20s %-16s %-20s %s\n", Time(event.at()), event.kind(),
                                    event.name().empty() ? "-" : event.name(), event.text());
  }
  return kExitOk;
}

int RunPlayersSearch(const CommandContext& context, const Invocation& invocation) {
  absl::StatusOr<v1::ListPlayersResponse> players =
      Get<v1::ListPlayersResponse>(context, "/api/v1/players?q=" + QueryValue(invocation.args[0]));
  if (!players.ok()) return Report(context, players.status());
  if (context.json) {
    *context.out << ToJson(*players) << "\n";
    return kExitOk;
  }
  *context.out << absl::StrFormat("%-17s %-24s %8s %-8s %s\n", "STEAMID", "NAME", "SESSIONS",
                                  "PLAYED", "LAST SEEN");
  for (const v1::Player& player : players->players()) {
    *context.out << absl::StrFormat("%-17s %-24s %8d %-8s %s\n", player.steam_id(), player.name(),
                                    player.sessions(), Played(player.seconds_played()),
                                    Time(player.last_seen_at()));
  }
  return kExitOk;
}

int RunPlayersShow(const CommandContext& context, const Invocation& invocation) {
  absl::StatusOr<v1::Player> player =
      Get<v1::Player>(context, "/api/v1/players/" + QueryValue(invocation.args[0]));
  if (!player.ok()) return Report(context, player.status());
  if (context.json) {
    *context.out << ToJson(*player) << "\n";
    return kExitOk;
  }
  *context.out << "name:       " << player->name() << "\nsteam id:   " << player->steam_id();
  if (player->has_profile()) {
    *context.out << "\nsteam name: " << player->profile().persona_name()
                 << "\nprofile:    " << player->profile().profile_url();
  }
  *context.out << "\nonline:     " << (player->online() ? "yes" : "no")
               << "\nsessions:   " << player->sessions()
               << "\nplayed:     " << Played(player->seconds_played())
               << "\nfirst seen: " << Time(player->first_seen_at())
               << "\nlast seen:  " << Time(player->last_seen_at()) << "\n\n";
  PrintSessions(context, player->recent_sessions(), /*with_server=*/true);
  return kExitOk;
}

}  // namespace l4d2::ctl
