#include "agent/game/rcon_status.h"

#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"

namespace l4d2::agent {
namespace {

// "MM:SS" or "HH:MM:SS".
std::optional<absl::Duration> Connected(absl::string_view text) {
  const std::vector<absl::string_view> parts = absl::StrSplit(text, ':');
  if (parts.size() < 2 || parts.size() > 3) return std::nullopt;
  int64_t seconds = 0;
  for (absl::string_view part : parts) {
    int value = 0;
    if (part.empty() || part.size() > 4 || !absl::SimpleAtoi(part, &value) || value < 0) {
      return std::nullopt;
    }
    seconds = seconds * 60 + value;
  }
  return absl::Seconds(seconds);
}

bool IsUniqueId(absl::string_view token) {
  return absl::StartsWith(token, "STEAM_") || absl::StartsWith(token, "[U:") || token == "BOT";
}

// One "# ..." row of the player table.
std::optional<RconStatusPlayer> ParseRow(absl::string_view row) {
  RconStatusPlayer player;
  row = absl::StripLeadingAsciiWhitespace(row);
  const size_t id_end = row.find(' ');
  if (id_end == absl::string_view::npos || id_end > 9 ||
      !absl::SimpleAtoi(row.substr(0, id_end), &player.user_id) || player.user_id < 0) {
    return std::nullopt;
  }
  row = absl::StripLeadingAsciiWhitespace(row.substr(id_end));
  // L4D2 prints the player's slot after the user id; other Source games do not.
  if (!row.empty() && absl::ascii_isdigit(static_cast<unsigned char>(row[0]))) {
    const size_t slot_end = row.find(' ');
    if (slot_end == absl::string_view::npos) return std::nullopt;
    row = absl::StripLeadingAsciiWhitespace(row.substr(slot_end));
  }
  if (!absl::ConsumePrefix(&row, "\"")) return std::nullopt;
  // The name ends at the last `" ` followed by a unique id: a name may hold `" `.
  size_t name_end = absl::string_view::npos;
  for (size_t at = row.find("\" "); at != absl::string_view::npos; at = row.find("\" ", at + 1)) {
    absl::string_view after = row.substr(at + 2);
    if (IsUniqueId(after.substr(0, after.find(' ')))) name_end = at;
  }
  if (name_end == absl::string_view::npos) return std::nullopt;
  player.name = std::string(row.substr(0, name_end));
  const std::vector<absl::string_view> fields =
      absl::StrSplit(row.substr(name_end + 2), ' ', absl::SkipEmpty());
  if (fields.empty()) return std::nullopt;
  player.steam_id = std::string(fields[0]);
  if (player.steam_id == "BOT") {
    player.bot = true;
    return player;
  }
  if (fields.size() < 3) return std::nullopt;
  std::optional<absl::Duration> connected = Connected(fields[1]);
  if (!connected.has_value() || !absl::SimpleAtoi(fields[2], &player.ping_ms)) return std::nullopt;
  player.connected = *connected;
  return player;
}

}  // namespace

RconStatus ParseRconStatus(const std::string& reply) {
  RconStatus status;
  for (absl::string_view line : absl::StrSplit(reply, '\n')) {
    line = absl::StripTrailingAsciiWhitespace(line);
    if (absl::ConsumePrefix(&line, "map     : ")) {
      status.map = std::string(line.substr(0, line.find(' ')));
    } else if (absl::ConsumePrefix(&line, "#")) {
      if (absl::StartsWith(line, " userid") || line == "end") continue;
      std::optional<RconStatusPlayer> player = ParseRow(line);
      if (player.has_value()) status.players.push_back(*std::move(player));
    }
  }
  return status;
}

}  // namespace l4d2::agent
