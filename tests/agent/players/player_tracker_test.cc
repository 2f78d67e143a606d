#include "agent/players/player_tracker.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace l4d2::agent {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;

const absl::Time kStart = absl::FromUnixSeconds(1'796'000'000);

GameLogEvent Line(const std::string& message) {
  absl::StatusOr<GameLogEvent> event = ParseGameLogLine("L 12/03/2026 - 21:14:02: " + message);
  EXPECT_TRUE(event.ok()) << message;
  return event.value_or(GameLogEvent());
}

std::vector<std::string> Names(const PlayerTracker& tracker) {
  std::vector<std::string> names;
  for (const LivePlayer& player : tracker.Players()) names.push_back(player.player.name);
  return names;
}

std::vector<std::string> Events(const PlayerTracker& tracker, int64_t after = 0) {
  std::vector<std::string> events;
  for (const PlayerEvent& event : tracker.EventsAfter(after, 100)) {
    events.push_back(absl::StrCat(event.seq, " ", PlayerEventKindName(event.kind), " ",
                                  event.player.name, event.text));
  }
  return events;
}

TEST(PlayerTrackerTest, SessionsSpanMapChangesAndEndWithTheDisconnect) {
  PlayerTracker tracker;
  absl::Time at = kStart;
  EXPECT_TRUE(tracker.Apply(Line("Started map \"c2m1_highway\" (CRC \"1\")"), at));
  EXPECT_FALSE(tracker.Apply(Line("\"Coach<1><BOT><>\" entered the game"), at));  // a bot
  EXPECT_FALSE(tracker.Apply(
      Line("\"Ellis<2><STEAM_1:0:11101><>\" connected, address \"203.0.113.7:27005\""), at));
  at += absl::Seconds(20);
  EXPECT_TRUE(tracker.Apply(Line("\"Ellis<2><STEAM_1:0:11101><>\" entered the game"), at));
  EXPECT_TRUE(tracker.Apply(Line("\"Ellis<2><STEAM_1:0:11101><>\" joined team \"Survivor\""), at));
  at += absl::Seconds(5);
  EXPECT_TRUE(tracker.Apply(Line("\"Nick<3><[U:1:246]><>\" entered the game"), at));
  EXPECT_THAT(Names(tracker), ElementsAre("Ellis", "Nick"));
  EXPECT_EQ(tracker.Players()[0].joined, kStart + absl::Seconds(20));
  EXPECT_EQ(tracker.Players()[0].player.team, "Survivor");
  EXPECT_EQ(tracker.Players()[1].player.steam_id64, 76561197960265728ull + 246);
  // The next map: everyone enters again, nobody joins again.
  at += absl::Minutes(10);
  EXPECT_TRUE(tracker.Apply(Line("Started map \"c2m2_fairgrounds\" (CRC \"2\")"), at));
  EXPECT_FALSE(tracker.Apply(Line("\"Ellis<2><STEAM_1:0:11101><>\" entered the game"), at));
  EXPECT_EQ(tracker.Players()[0].joined, kStart + absl::Seconds(20));
  EXPECT_TRUE(
      tracker.Apply(Line("\"Ellis<2><STEAM_1:0:11101><Survivor>\" changed name to \"E\""), at));
  EXPECT_FALSE(tracker.Apply(Line("\"Ellis<2><STEAM_1:0:11101><Survivor>\" say \"hi\""), at));
  at += absl::Minutes(1);
  EXPECT_TRUE(tracker.Apply(
      Line("\"E<2><STEAM_1:0:11101><Survivor>\" disconnected (reason \"Disconnect by user.\")"),
      at));
  // A leave of someone not on: nothing.
  EXPECT_FALSE(tracker.Apply(Line("\"Z<9><STEAM_1:0:5><>\" disconnected"), at));
  EXPECT_TRUE(tracker.Apply(
      Line("Your server needs to be restarted in order to receive the latest update."), at));
  EXPECT_FALSE(tracker.Apply(
      Line("Your server needs to be restarted in order to receive the latest update."), at));
  EXPECT_TRUE(tracker.restart_required());
  EXPECT_EQ(tracker.map(), "c2m2_fairgrounds");
  EXPECT_THAT(Names(tracker), ElementsAre("Nick"));
  EXPECT_THAT(Events(tracker),
              ElementsAre("1 map_changed c2m1_highway", "2 player_joined Ellis",
                          "3 player_joined Nick", "4 map_changed c2m2_fairgrounds",
                          "5 player_left EDisconnect by user.", "6 restart_required "));
  EXPECT_THAT(Events(tracker, 4),
              ElementsAre("5 player_left EDisconnect by user.", "6 restart_required "));
  EXPECT_EQ(tracker.last_seq(), 6);
  // The server restarted: Nick's stay ends, and Steam's request was the old process's.
  tracker.EndAll(at + absl::Minutes(1), "server restarted");
  EXPECT_TRUE(Names(tracker).empty());
  EXPECT_FALSE(tracker.restart_required());
  EXPECT_THAT(Events(tracker, 6), ElementsAre("7 player_left Nickserver restarted"));
}

// A `status` taken after a player left but before the log's line saying so arrived: the line's
// reason is the stay's, not "not in status".
TEST(PlayerTrackerTest, AStatusAheadOfTheLogsLeaveLineDoesNotEndTheStay) {
  PlayerTracker tracker;
  absl::Time at = kStart;
  tracker.Apply(Line("\"Nick<3><STEAM_1:0:1><>\" entered the game"), at);
  tracker.Reconcile(RconStatus{.map = "c1m1_hotel"}, at + absl::Seconds(1));
  EXPECT_THAT(Names(tracker), ElementsAre("Nick"));
  tracker.Apply(Line("\"Nick<3><STEAM_1:0:1><>\" disconnected (reason \"Disconnect by user.\")"),
                at + absl::Seconds(2));
  EXPECT_TRUE(Names(tracker).empty());
  EXPECT_THAT(Events(tracker, 1), Contains("3 player_left NickDisconnect by user."));
  // A later miss of someone the log already ended changes nothing.
  tracker.Reconcile(RconStatus{.map = "c1m1_hotel"}, at + absl::Seconds(40));
  EXPECT_EQ(tracker.last_seq(), 3);
}

// The agent restarted mid-session, or packets were lost: `status` says who is there.
TEST(PlayerTrackerTest, StatusFillsInWhatTheLogMissed) {
  PlayerTracker tracker;
  absl::Time at = kStart;
  tracker.Apply(Line("\"Gone<4><STEAM_1:1:7><>\" entered the game"), at);
  tracker.Apply(Line("\"Ellis<2><STEAM_1:0:11101><>\" entered the game"), at);
  at += absl::Minutes(30);
  RconStatus status{.map = "c5m1_waterfront",
                    .players = {{.user_id = 1, .name = "Coach", .steam_id = "BOT", .bot = true},
                                {.user_id = 2,
                                 .name = "Ellis",
                                 .steam_id = "STEAM_1:0:11101",
                                 .connected = absl::Minutes(31)},
                                {.user_id = 7,
                                 .name = "Late",
                                 .steam_id = "STEAM_1:0:99",
                                 .connected = absl::Minutes(3)}}};
  tracker.Reconcile(status, at);
  // Gone is not listed once: its leave line may be on its way; still there.
  EXPECT_THAT(Names(tracker), ElementsAre("Ellis", "Gone", "Late"));
  tracker.Reconcile(status, at);
  EXPECT_THAT(Names(tracker), ElementsAre("Ellis", "Late"));
  EXPECT_EQ(tracker.Players()[0].joined, kStart);  // kept from the log
  EXPECT_EQ(tracker.Players()[1].joined, at - absl::Minutes(3));
  EXPECT_EQ(tracker.map(), "c5m1_waterfront");
  EXPECT_THAT(Events(tracker, 2),
              ElementsAre("3 player_joined Late", "4 map_changed c5m1_waterfront",
                          "5 player_left Gonenot in status"));
  // The same status again changes nothing.
  tracker.Reconcile(status, at + absl::Seconds(10));
  EXPECT_EQ(tracker.last_seq(), 5);
  // A user id given to someone else: the one before left.
  status.players[2] = {.user_id = 7, .name = "Other", .steam_id = "STEAM_1:0:100"};
  tracker.Reconcile(status, at + absl::Seconds(20));
  EXPECT_THAT(Events(tracker, 5),
              ElementsAre("6 player_left Latereplaced", "7 player_joined Other"));
}

TEST(PlayerTrackerTest, TheHistoryIsBounded) {
  PlayerTracker tracker(/*history=*/3);
  for (int i = 0; i < 5; ++i) {
    tracker.Apply(Line(absl::StrCat("Started map \"m", i, "\" (CRC \"1\")")), kStart);
  }
  EXPECT_THAT(Events(tracker),
              ElementsAre("3 map_changed m2", "4 map_changed m3", "5 map_changed m4"));
  EXPECT_THAT(Events(tracker, 4), ElementsAre("5 map_changed m4"));
  EXPECT_TRUE(Events(tracker, 5).empty());
  EXPECT_TRUE(Events(tracker, 50).empty());
}

}  // namespace
}  // namespace l4d2::agent
