#include "agent/game/rcon_status.h"

#include "gtest/gtest.h"

namespace l4d2::agent {
namespace {

// An L4D2 server's `status` with a bot, a player whose name holds quotes, and one listed by
// a SteamID3; the fake game server prints the same form (tests/fakes/srcds).
constexpr char kReply[] = R"(hostname: versus #1
version : 2.2.3.9 8829 secure
udp/ip  : 10.0.0.5:27015 [ public n/a ]
os      : Linux Dedicated
map     : c2m1_highway at: 0 x, 0 y, 0 z
players : 2 humans, 1 bots (8 max) (not hibernating)

# userid name uniqueid connected ping loss state rate adr
#  1 "Coach" BOT active
#  2 1 "Ellis" STEAM_1:0:11101 05:11 45 0 active 30000 203.0.113.7:27005
#  3 2 "Nick "the gambler" " [U:1:246] 1:02:03 120 0 spawning 30000 198.51.100.20:27005
# 12 3 "broken row
#end
)";

TEST(RconStatusTest, ParsesPlayersAndMap) {
  const RconStatus status = ParseRconStatus(kReply);
  EXPECT_EQ(status.map, "c2m1_highway");
  ASSERT_EQ(status.players.size(), 3u);
  EXPECT_TRUE(status.players[0].bot);
  EXPECT_EQ(status.players[0].name, "Coach");
  EXPECT_EQ(status.players[0].user_id, 1);
  const RconStatusPlayer& ellis = status.players[1];
  EXPECT_FALSE(ellis.bot);
  EXPECT_EQ(ellis.user_id, 2);
  EXPECT_EQ(ellis.name, "Ellis");
  EXPECT_EQ(ellis.steam_id, "STEAM_1:0:11101");
  EXPECT_EQ(ellis.connected, absl::Seconds(5 * 60 + 11));
  EXPECT_EQ(ellis.ping_ms, 45);
  const RconStatusPlayer& nick = status.players[2];
  EXPECT_EQ(nick.name, "Nick \"the gambler\" ");
  EXPECT_EQ(nick.steam_id, "[U:1:246]");
  EXPECT_EQ(nick.connected, absl::Seconds(3723));
  EXPECT_EQ(nick.ping_ms, 120);
}

TEST(RconStatusTest, WhatIsNotAStatusGivesNothing) {
  for (const char* reply :
       {"", "Unknown command \"status\"", "#\n#  \n# x 1 \"a\" STEAM_1:0:1 00:01 5\n",
        "# 2 1 \"a\" STEAM_1:0:1 xx:01 5 0 active\n", "# 2 1 \"a\" STEAM_1:0:1 00:01\n",
        "# -2 \"a\" BOT active\n"}) {
    const RconStatus status = ParseRconStatus(reply);
    EXPECT_TRUE(status.players.empty()) << reply;
    EXPECT_EQ(status.map, "") << reply;
  }
}

}  // namespace
}  // namespace l4d2::agent
