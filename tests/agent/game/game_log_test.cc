#include "agent/game/game_log.h"

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace l4d2::agent {
namespace {

using Kind = GameLogEvent::Kind;

// A campaign's log as an L4D2 server writes it (testdata/l4d2-campaign.log): bots and players
// joining, a SteamID of each form, chat, a name holding `>" entered the game`, a kick whose
// reason holds quotes, a map, rounds and the update notice.
std::vector<std::string> CampaignLines() {
  std::ifstream in(std::string(L4D2_SOURCE_DIR) + "/tests/agent/game/testdata/l4d2-campaign.log");
  std::stringstream text;
  text << in.rdbuf();
  return absl::StrSplit(text.str(), '\n', absl::SkipEmpty());
}

TEST(GameLogTest, ParsesACampaignsLog) {
  std::vector<GameLogEvent> events;
  for (const std::string& line : CampaignLines()) {
    absl::StatusOr<GameLogEvent> event = ParseGameLogLine(line);
    ASSERT_TRUE(event.ok()) << line << ": " << event.status();
    events.push_back(*event);
  }
  std::vector<std::string> kinds;
  for (const GameLogEvent& event : events) kinds.push_back(GameLogEventKindName(event.kind));
  EXPECT_THAT(kinds, ::testing::ElementsAre(
                         "log_started", "other", "map_loading", "map_started", "entered",
                         "joined_team", "connected", "validated", "entered", "joined_team",
                         "connected", "validated", "entered", "world_triggered", "say", "say_team",
                         "name_changed", "say", "world_triggered", "restart_required",
                         "disconnected", "disconnected", "disconnected", "other", "log_closed"));
  EXPECT_EQ(events[0].at, absl::CivilSecond(2026, 12, 3, 21, 14, 2));
  EXPECT_EQ(events[2].text, "c2m1_highway");
  EXPECT_EQ(events[3].text, "c2m1_highway");
  // A bot: no SteamID64.
  EXPECT_EQ(events[4].player.name, "Coach");
  EXPECT_EQ(events[4].player.steam_id, "BOT");
  EXPECT_EQ(events[4].player.steam_id64, 0u);
  EXPECT_EQ(events[5].text, "Survivor");
  EXPECT_EQ(events[5].player.team, "Unassigned");
  // STEAM_1:0:11101 is account 22202.
  const GamePlayer& ellis = events[8].player;
  EXPECT_EQ(ellis.name, "Ellis");
  EXPECT_EQ(ellis.user_id, 2);
  EXPECT_EQ(ellis.steam_id, "STEAM_1:0:11101");
  EXPECT_EQ(ellis.steam_id64, 76561197960265728ull + 22202);
  EXPECT_EQ(events[6].text, "203.0.113.7:27005");
  // A name with quotes and a trailing space; a SteamID3.
  const GamePlayer& nick = events[12].player;
  EXPECT_EQ(nick.name, "Nick \"the gambler\" ");
  EXPECT_EQ(nick.user_id, 3);
  EXPECT_EQ(nick.steam_id64, 76561197960265728ull + 246);
  EXPECT_EQ(events[13].text, "Round_Start");
  EXPECT_EQ(events[14].text, "rush to the saferoom");
  EXPECT_EQ(events[15].text, "wait for me <3");
  EXPECT_EQ(events[15].player.team, "Survivor");
  // A name that reads like a line of its own is the name, once changed and when used.
  EXPECT_EQ(events[16].player.name, "Ellis");
  EXPECT_EQ(events[16].text, "Ellis>\" entered the game");
  EXPECT_EQ(events[17].player.name, "Ellis>\" entered the game");
  EXPECT_EQ(events[17].player.user_id, 2);
  EXPECT_EQ(events[17].text, "renamed");
  EXPECT_EQ(events[20].text, "Disconnect by user.");
  EXPECT_EQ(events[21].text, "Kicked by Console : \"idle too long\"");
  EXPECT_EQ(events[21].player.steam_id64, ellis.steam_id64);
  EXPECT_EQ(events[22].text, "");
  EXPECT_EQ(events[23].text, "rcon from \"127.0.0.1:41822\": command \"status\"");
}

TEST(GameLogTest, RefusesWhatIsNotALogLine) {
  for (const char* line :
       {"", "L ", "hello", "L 12/03/2026 - 21:14:02 no colon", "L 13/03/2026 - 21:14:02: month 13",
        "L 02/30/2026 - 21:14:02: Feb 30", "L 12/03/2026 - 24:00:00: hour 24",
        "L 1x/03/2026 - 21:14:02: x", "X 12/03/2026 - 21:14:02: not L"}) {
    EXPECT_EQ(ParseGameLogLine(line).status().code(), absl::StatusCode::kInvalidArgument) << line;
  }
  // Malformed player blocks are other lines, not players.
  for (const char* message :
       {"\"Ellis<x><STEAM_1:0:1><>\" entered the game",
        "\"Ellis<2><STEAM_1:0:1>\" entered the game", "\"Ellis<2><STEAM_1:0:1><>\" danced",
        "\"<2><STEAM_1:0:1><> entered the game", "\"Ellis<-1><STEAM_1:0:1><>\" entered the game"}) {
    absl::StatusOr<GameLogEvent> event =
        ParseGameLogLine(std::string("L 12/03/2026 - 21:14:02: ") + message);
    ASSERT_TRUE(event.ok()) << message;
    EXPECT_EQ(event->kind, Kind::kOther) << message;
    EXPECT_EQ(event->player.name, "") << message;
  }
}

TEST(GameLogTest, SteamIdsOfEachForm) {
  EXPECT_EQ(SteamId64("STEAM_1:1:11101"), 76561197960265728ull + 22203);
  EXPECT_EQ(SteamId64("STEAM_0:0:11101"), 76561197960265728ull + 22202);
  EXPECT_EQ(SteamId64("[U:1:22202]"), 76561197960265728ull + 22202);
  for (const char* id : {"BOT", "STEAM_ID_PENDING", "STEAM_ID_LAN", "STEAM_1:2:1",
                         "STEAM_1:0:", "STEAM_1:0:99999999999", "STEAM_12:0:1", "[U:1:]",
                         "[U:1:4294967296]", "[U:0:5]", "STEAM_1:0:-1", ""}) {
    EXPECT_EQ(SteamId64(id), 0u) << id;
  }
}

TEST(GameLogTest, PacketsCarryTheirLineOnlyWithTheSecret) {
  const absl::CivilSecond at(2026, 12, 3, 21, 15, 31);
  const std::string message = "\"Ellis<2><STEAM_1:0:11101><>\" entered the game";
  const std::string packet = EncodeGameLogPacket(at, message, "48213");
  EXPECT_EQ(packet.substr(0, 10), std::string("\xFF\xFF\xFF\xFFS48213", 10));
  EXPECT_EQ(packet.back(), '\0');
  absl::StatusOr<absl::string_view> line = DecodeGameLogPacket(packet, "48213");
  ASSERT_TRUE(line.ok()) << line.status();
  EXPECT_EQ(*line, "L 12/03/2026 - 21:15:31: " + message);
  absl::StatusOr<GameLogEvent> event = ParseGameLogLine(*line);
  ASSERT_TRUE(event.ok());
  EXPECT_EQ(event->kind, Kind::kEntered);
  EXPECT_EQ(event->at, at);

  // Another secret, a longer one starting with ours, none, or no secret to check with.
  EXPECT_EQ(DecodeGameLogPacket(packet, "48214").status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(
      DecodeGameLogPacket(EncodeGameLogPacket(at, message, "482139"), "48213").status().code(),
      absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(DecodeGameLogPacket(EncodeGameLogPacket(at, message, ""), "48213").status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(DecodeGameLogPacket(packet, "").status().code(), absl::StatusCode::kPermissionDenied);
  // Not log packets at all: truncated, another header, an A2S reply, too long.
  for (const std::string& bad :
       {std::string(), std::string("\xFF\xFF\xFF", 3),
        std::string("\xFF\xFF\xFF\xFE"
                    "S1",
                    6),
        std::string("\xFF\xFF\xFF\xFF"
                    "I\x11",
                    6),
        std::string("\xFF\xFF\xFF\xFFS48213", 10), std::string(kMaxGameLogPacket + 1, 'x'),
        packet + std::string(kMaxGameLogPacket, 'x'), packet.substr(0, packet.size() - 1),
        packet.substr(0, packet.size() - 10)}) {
    absl::StatusOr<absl::string_view> decoded = DecodeGameLogPacket(bad, "48213");
    EXPECT_FALSE(decoded.ok()) << bad.size();
  }
}

}  // namespace
}  // namespace l4d2::agent
