#include "agent/game/game_log.h"

#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"

namespace l4d2::agent {
namespace {

constexpr absl::string_view kHeader("\xFF\xFF\xFF\xFF", 4);
// The individual account SteamID64s start here (universe 1, type 1, instance 1).
constexpr uint64_t kIndividualBase = 76561197960265728ull;

// Equal bytes, in a time that does not depend on where they differ.
bool SameBytes(absl::string_view a, absl::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    diff |= static_cast<unsigned char>(a[i]) ^ static_cast<unsigned char>(b[i]);
  }
  return diff == 0;
}

// The number of `digits` ASCII digits at `text[at]`, or nullopt.
std::optional<int> Digits(absl::string_view text, size_t at, size_t digits) {
  int value = 0;
  for (size_t i = at; i < at + digits; ++i) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(text[i]))) return std::nullopt;
    value = value * 10 + (text[i] - '0');
  }
  return value;
}

// "MM/DD/YYYY - HH:MM:SS" at the start of `text` (its length checked by the caller).
std::optional<absl::CivilSecond> LogTime(absl::string_view text) {
  if (text[2] != '/' || text[5] != '/' || text.substr(10, 3) != " - " || text[15] != ':' ||
      text[18] != ':') {
    return std::nullopt;
  }
  const auto month = Digits(text, 0, 2), day = Digits(text, 3, 2), year = Digits(text, 6, 4);
  const auto hour = Digits(text, 13, 2), minute = Digits(text, 16, 2), second = Digits(text, 19, 2);
  if (!month || !day || !year || !hour || !minute || !second) return std::nullopt;
  const absl::CivilSecond at(*year, *month, *day, *hour, *minute, *second);
  // CivilSecond normalizes (month 13 is January next year): a field out of range is not a time.
  if (at.month() != *month || at.day() != *day || at.hour() != *hour || at.minute() != *minute ||
      at.second() != *second) {
    return std::nullopt;
  }
  return at;
}

// `"Name<userid><SteamID><team>` without its closing quote, parsed from its end: a name may
// hold anything, the three fields never hold '<' or '>'.
std::optional<GamePlayer> ParsePlayer(absl::string_view block) {
  if (block.empty() || block.front() != '"') return std::nullopt;
  block.remove_prefix(1);
  absl::string_view fields[3];  // team, SteamID, userid: from the end
  for (absl::string_view& field : fields) {
    if (block.empty() || block.back() != '>') return std::nullopt;
    const size_t open = block.rfind('<');
    if (open == absl::string_view::npos) return std::nullopt;
    field = block.substr(open + 1, block.size() - open - 2);
    if (absl::StrContains(field, '>')) return std::nullopt;
    block = block.substr(0, open);
  }
  GamePlayer player;
  if (fields[2].empty() || fields[2].size() > 9 || !absl::SimpleAtoi(fields[2], &player.user_id) ||
      player.user_id < 0) {
    return std::nullopt;
  }
  player.name = std::string(block);
  player.steam_id = std::string(fields[1]);
  player.steam_id64 = SteamId64(fields[1]);
  player.team = std::string(fields[0]);
  return player;
}

// The text between `prefix`'s opening quote and the last quote of `rest` (which must end with
// `suffix` after it), or nullopt.
std::optional<std::string> Quoted(absl::string_view rest, absl::string_view prefix,
                                  absl::string_view suffix = "\"") {
  if (!absl::ConsumePrefix(&rest, prefix) || !absl::ConsumeSuffix(&rest, suffix)) {
    return std::nullopt;
  }
  return std::string(rest);
}

// What a player did: `rest` is what follows the player's closing quote.
bool ParsePlayerAction(absl::string_view rest, GameLogEvent& event) {
  using Kind = GameLogEvent::Kind;
  if (rest == " entered the game") {
    event.kind = Kind::kEntered;
  } else if (rest == " STEAM USERID validated") {
    event.kind = Kind::kValidated;
  } else if (rest == " disconnected") {
    event.kind = Kind::kDisconnected;
  } else if (auto reason = Quoted(rest, " disconnected (reason \"", "\")")) {
    event.kind = Kind::kDisconnected;
    event.text = *std::move(reason);
  } else if (auto said = Quoted(rest, " say \"")) {
    event.kind = Kind::kSay;
    event.text = *std::move(said);
  } else if (auto team_said = Quoted(rest, " say_team \"")) {
    event.kind = Kind::kSayTeam;
    event.text = *std::move(team_said);
  } else if (auto address = Quoted(rest, " connected, address \"")) {
    event.kind = Kind::kConnected;
    event.text = *std::move(address);
  } else if (auto name = Quoted(rest, " changed name to \"")) {
    event.kind = Kind::kNameChanged;
    event.text = *std::move(name);
  } else if (auto team = Quoted(rest, " joined team \"")) {
    event.kind = Kind::kJoinedTeam;
    event.text = *std::move(team);
  } else {
    return false;
  }
  return true;
}

// The first `"` of `text` after `prefix`, as the value up to it.
std::optional<std::string> UpToQuote(absl::string_view text, absl::string_view prefix) {
  if (!absl::ConsumePrefix(&text, prefix)) return std::nullopt;
  const size_t end = text.find('"');
  if (end == absl::string_view::npos) return std::nullopt;
  return std::string(text.substr(0, end));
}

}  // namespace

absl::StatusOr<absl::string_view> DecodeGameLogPacket(absl::string_view packet,
                                                      absl::string_view secret) {
  if (packet.size() > kMaxGameLogPacket) {
    return absl::InvalidArgumentError(absl::StrCat("a log packet of ", packet.size(),
                                                   " bytes (at most ", kMaxGameLogPacket, ")"));
  }
  if (packet.size() < 5 || packet.substr(0, 4) != kHeader) {
    return absl::InvalidArgumentError("not a log packet");
  }
  const char type = packet[4];
  packet.remove_prefix(5);
  if (type == 'R') return absl::PermissionDeniedError("a log packet without the secret");
  if (type != 'S') return absl::InvalidArgumentError("not a log packet");
  if (secret.empty()) return absl::PermissionDeniedError("no secret to check the packet with");
  if (packet.size() < secret.size() + 2 || !SameBytes(packet.substr(0, secret.size()), secret) ||
      packet.substr(secret.size(), 2) != "L ") {
    return absl::PermissionDeniedError("a log packet with another secret");
  }
  packet.remove_prefix(secret.size());
  // srcds ends every packet with "\n\0": one cut short is not a line (it may still read as
  // one, a leave without its reason).
  if (!absl::ConsumeSuffix(&packet, absl::string_view("\0", 1))) {
    return absl::InvalidArgumentError("a log packet cut short (no NUL at its end)");
  }
  absl::ConsumeSuffix(&packet, "\n");
  return packet;
}

std::string EncodeGameLogPacket(absl::CivilSecond at, absl::string_view message,
                                absl::string_view secret) {
  return absl::StrCat(kHeader, secret.empty() ? "R" : "S", secret,
                      absl::StrFormat("L %02d/%02d/%04d - %02d:%02d:%02d: ", at.month(), at.day(),
                                      at.year(), at.hour(), at.minute(), at.second()),
                      message, "\n", absl::string_view("\0", 1));
}

uint64_t SteamId64(absl::string_view steam_id) {
  uint64_t y = 0, z = 0;
  if (absl::ConsumePrefix(&steam_id, "STEAM_")) {
    // STEAM_X:Y:Z, X the universe (0 or 1 for public accounts), Y the low bit, Z the rest.
    const size_t first = steam_id.find(':');
    if (first == absl::string_view::npos) return 0;
    const absl::string_view universe = steam_id.substr(0, first);
    steam_id.remove_prefix(first + 1);
    const size_t second = steam_id.find(':');
    if (universe.size() != 1 || !absl::ascii_isdigit(static_cast<unsigned char>(universe[0])) ||
        second == absl::string_view::npos || !absl::SimpleAtoi(steam_id.substr(0, second), &y) ||
        y > 1 || steam_id.size() - second - 1 > 10 ||
        !absl::SimpleAtoi(steam_id.substr(second + 1), &z) || z > 0x7FFFFFFFull) {
      return 0;
    }
    return kIndividualBase + z * 2 + y;
  }
  if (absl::ConsumePrefix(&steam_id, "[U:1:") && absl::ConsumeSuffix(&steam_id, "]") &&
      steam_id.size() <= 10 && absl::SimpleAtoi(steam_id, &z) && z <= 0xFFFFFFFFull) {
    return kIndividualBase + z;
  }
  return 0;
}

absl::StatusOr<GameLogEvent> ParseGameLogLine(absl::string_view line) {
  // "L " + "MM/DD/YYYY - HH:MM:SS" + ": "
  constexpr size_t kPrefix = 2 + 21 + 2;
  if (line.size() < kPrefix || line.substr(0, 2) != "L " || line.substr(23, 2) != ": ") {
    return absl::InvalidArgumentError("not a log line (\"L MM/DD/YYYY - HH:MM:SS: ...\")");
  }
  std::optional<absl::CivilSecond> at = LogTime(line.substr(2, 21));
  if (!at.has_value()) return absl::InvalidArgumentError("not a log line: a bad time");
  absl::string_view message = line.substr(kPrefix);
  absl::ConsumeSuffix(&message, "\n");
  absl::ConsumeSuffix(&message, "\r");

  using Kind = GameLogEvent::Kind;
  GameLogEvent event{.at = *at};
  if (absl::StartsWith(message, "\"")) {
    // The player's block ends at a `>"` that leaves a well-formed block and a known action
    // after it; a name holding `>"` is tried and passed over.
    for (size_t end = message.find(">\""); end != absl::string_view::npos;
         end = message.find(">\"", end + 1)) {
      std::optional<GamePlayer> player = ParsePlayer(message.substr(0, end + 1));
      if (player.has_value() && ParsePlayerAction(message.substr(end + 2), event)) {
        event.player = *std::move(player);
        return event;
      }
    }
  } else if (auto loading = UpToQuote(message, "Loading map \"")) {
    event.kind = Kind::kMapLoading;
    event.text = *std::move(loading);
    return event;
  } else if (auto started = UpToQuote(message, "Started map \"")) {
    event.kind = Kind::kMapStarted;
    event.text = *std::move(started);
    return event;
  } else if (auto triggered = UpToQuote(message, "World triggered \"")) {
    event.kind = Kind::kWorldTriggered;
    event.text = *std::move(triggered);
    return event;
  } else if (absl::StartsWith(message, "Log file started")) {
    event.kind = Kind::kLogStarted;
    return event;
  } else if (absl::StartsWith(message, "Log file closed")) {
    event.kind = Kind::kLogClosed;
    return event;
  } else if (absl::StartsWith(message,
                              "Your server needs to be restarted in order to receive "
                              "the latest update.")) {
    event.kind = Kind::kRestartRequired;
    return event;
  }
  event.kind = Kind::kOther;
  event.player = GamePlayer();
  event.text = std::string(message);
  return event;
}

const char* GameLogEventKindName(GameLogEvent::Kind kind) {
  using Kind = GameLogEvent::Kind;
  switch (kind) {
    case Kind::kOther:
      return "other";
    case Kind::kConnected:
      return "connected";
    case Kind::kValidated:
      return "validated";
    case Kind::kEntered:
      return "entered";
    case Kind::kDisconnected:
      return "disconnected";
    case Kind::kSay:
      return "say";
    case Kind::kSayTeam:
      return "say_team";
    case Kind::kNameChanged:
      return "name_changed";
    case Kind::kJoinedTeam:
      return "joined_team";
    case Kind::kMapLoading:
      return "map_loading";
    case Kind::kMapStarted:
      return "map_started";
    case Kind::kWorldTriggered:
      return "world_triggered";
    case Kind::kLogStarted:
      return "log_started";
    case Kind::kLogClosed:
      return "log_closed";
    case Kind::kRestartRequired:
      return "restart_required";
  }
  return "other";
}

}  // namespace l4d2::agent
