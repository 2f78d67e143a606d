// The player history (controller/store/player_history.h) on SQLite and PostgreSQL: agents'
// answers become sessions, a timeline and players' totals; a join told again continues the
// stay; an agent that restarted (reset) ends the stays of those gone meanwhile; a moved cursor
// records nothing; reads by server and time window, by player and by name prefix; pruning.

#include "controller/store/player_history.h"

#include "controller/store/fleet_stores.h"
#include "controller/store/migrations.h"
#include "controller/store/users.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/time_util.h"
#include "tests/controller/store/backend_test.h"

namespace l4d2::controller {
namespace {

using ::testing::ElementsAre;
using ::testing::Field;

constexpr uint64_t kEllis = 76561197960287930u;
constexpr uint64_t kNick = 76561197960265738u;

class PlayerHistoryTest : public FleetBackendTest {
 protected:
  void SetUp() override {
    FleetBackendTest::SetUp();
    if (IsSkipped()) return;
    alice_ = NewUser("alice").user_id;
    bob_ = NewUser("bob").user_id;
    BlueprintInput input{.name = "bp"};
    input.settings.set_game_mode("coop");
    const std::string blueprint = stores_->blueprints.Create(Actor::Operator(alice_), input)->id;
    server_ =
        stores_->servers.Create(Actor::Operator(alice_), "s1", blueprint, DesiredState::kRunning)
            ->id;
  }

  agent::v1::PlayerEvent Event(int64_t seq, agent::v1::PlayerEvent::Kind kind, uint64_t steam,
                               const std::string& name, absl::Time at,
                               const std::string& text = "") {
    agent::v1::PlayerEvent event;
    event.set_seq(seq);
    event.set_kind(kind);
    *event.mutable_at() =
        google::protobuf::util::TimeUtil::NanosecondsToTimestamp(absl::ToUnixNanos(at));
    event.mutable_player()->set_name(name);
    event.mutable_player()->set_user_id(static_cast<int32_t>(seq));
    event.mutable_player()->set_steam_id64(steam);
    event.set_text(text);
    return event;
  }
  agent::v1::LivePlayer Live(uint64_t steam, const std::string& name) {
    agent::v1::LivePlayer player;
    player.set_name(name);
    player.set_steam_id64(steam);
    return player;
  }

  std::string alice_, bob_, server_;
};

TEST_P(PlayerHistoryTest, AnswersBecomeSessionsATimelineAndTotals) {
  PlayerHistory& history = stores_->players;
  const absl::Time t0 = clock_.Now();
  agent::v1::ListPlayerEventsResponse first;
  first.set_epoch(7);
  first.set_reset(true);
  *first.add_events() =
      Event(1, agent::v1::PlayerEvent::KIND_MAP_CHANGED, 0, "", t0, "c2m1_highway");
  *first.add_events() = Event(2, agent::v1::PlayerEvent::KIND_JOINED, kEllis, "Ellis", t0);
  *first.add_events() =
      Event(3, agent::v1::PlayerEvent::KIND_JOINED, kNick, "Nick", t0 + absl::Seconds(5));
  first.set_map("c2m1_highway");
  *first.add_players() = Live(kEllis, "Ellis");
  *first.add_players() = Live(kNick, "Nick");
  absl::StatusOr<std::vector<PlayerTimelineEvent>> written = history.Record(server_, {}, first);
  ASSERT_TRUE(written.ok()) << written.status();
  EXPECT_EQ(written->size(), 3u);
  EXPECT_EQ(*history.Cursor(server_), (GameLogCursor{7, 3}));
  // The same answer again finds the cursor moved: nothing is written twice.
  EXPECT_TRUE(absl::IsAborted(history.Record(server_, {}, first).status()));
  EXPECT_EQ(Count("player_sessions"), 2);

  clock_.Advance(absl::Minutes(30));
  agent::v1::ListPlayerEventsResponse second;
  second.set_epoch(7);
  *second.add_events() = Event(4, agent::v1::PlayerEvent::KIND_LEFT, kNick, "Nick",
                               t0 + absl::Minutes(20), "Disconnect by user.");
  // Ellis entering the next map: the same stay.
  *second.add_events() =
      Event(5, agent::v1::PlayerEvent::KIND_JOINED, kEllis, "Ellis", t0 + absl::Minutes(21));
  *second.add_events() =
      Event(6, agent::v1::PlayerEvent::KIND_RESTART_REQUIRED, 0, "", t0 + absl::Minutes(22));
  second.set_restart_required(true);
  second.set_map("c2m2_fairground");
  *second.add_players() = Live(kEllis, "Ellis");
  ASSERT_TRUE(history.Record(server_, {7, 3}, second).ok());

  std::vector<PlayerSession> online = *history.Online(server_);
  ASSERT_EQ(online.size(), 1u);
  EXPECT_EQ(online[0].name, "Ellis");
  EXPECT_EQ(online[0].joined, t0);
  std::optional<ServerGameLog> log = *history.GameLog(server_);
  ASSERT_TRUE(log.has_value());
  EXPECT_TRUE(log->update_required);
  EXPECT_EQ(log->map, "c2m2_fairground");
  PlayerSummary nick = *history.Player(std::to_string(kNick));
  EXPECT_EQ(nick.sessions, 1);
  EXPECT_EQ(nick.seconds, 20 * 60 - 5);
  std::vector<PlayerTimelineEvent> timeline = *history.Timeline(server_, "", 100);
  ASSERT_EQ(timeline.size(), 5u);  // map, 2 joins, a leave, the update request
  EXPECT_EQ(timeline[0].kind, "update_required");
  EXPECT_EQ(timeline[1].kind, "left");
  EXPECT_EQ(timeline[1].text, "Disconnect by user.");
  EXPECT_EQ(history.Timeline(server_, timeline[1].id, 100)->size(), 3u);
  // The tail the event streams follow carries the owner and the name.
  std::vector<PlayerTimelineEvent> tail = *history.EventsAfter("", 100);
  ASSERT_EQ(tail.size(), 5u);
  EXPECT_EQ(tail[0].owner_id, alice_);
  EXPECT_EQ(tail[0].server_name, "s1");

  // The agent restarted (a new epoch) while Ellis left: a reset names only who is there.
  clock_.Advance(absl::Minutes(5));
  agent::v1::ListPlayerEventsResponse after_restart;
  after_restart.set_epoch(9);
  after_restart.set_reset(true);
  ASSERT_TRUE(history.Record(server_, {7, 6}, after_restart).ok());
  EXPECT_TRUE(history.Online(server_)->empty());
  EXPECT_EQ(*history.Cursor(server_), (GameLogCursor{9, 0}));
  std::vector<PlayerSession> sessions = *history.PlayerSessions(std::to_string(kEllis), "", 10);
  ASSERT_EQ(sessions.size(), 1u);
  EXPECT_EQ(sessions[0].reason, "left while its agent was away");
  EXPECT_EQ(*sessions[0].left, clock_.Now());

  // Figures for /metrics.
  PlayerFigures figures = *CountPlayerFigures(*db_);
  EXPECT_EQ(figures.sessions_started, 2);
  EXPECT_EQ(figures.players, 0);
}

TEST_P(PlayerHistoryTest, ReadsByWindowByPlayerAndByNameAndPrunes) {
  PlayerHistory& history = stores_->players;
  const absl::Time t0 = clock_.Now();
  agent::v1::ListPlayerEventsResponse answer;
  answer.set_epoch(1);
  answer.set_reset(true);
  // Ellis plays 10:00-11:00, Nick 12:00-now.
  *answer.add_events() = Event(1, agent::v1::PlayerEvent::KIND_JOINED, kEllis, "Ellis", t0);
  *answer.add_events() =
      Event(2, agent::v1::PlayerEvent::KIND_LEFT, kEllis, "Ellis", t0 + absl::Hours(1), "bye");
  *answer.add_events() =
      Event(3, agent::v1::PlayerEvent::KIND_JOINED, kNick, "Nick", t0 + absl::Hours(2));
  *answer.add_players() = Live(kNick, "Nick");
  ASSERT_TRUE(history.Record(server_, {}, answer).ok());
  clock_.Advance(absl::Hours(3));

  auto names = [](const std::vector<PlayerSession>& sessions) {
    std::vector<std::string> out;
    for (const PlayerSession& session : sessions) out.push_back(session.name);
    return out;
  };
  EXPECT_THAT(names(*history.ServerSessions(server_, t0, clock_.Now(), 10)),
              ElementsAre("Nick", "Ellis"));
  EXPECT_THAT(names(*history.ServerSessions(server_, t0 + absl::Minutes(90), clock_.Now(), 10)),
              ElementsAre("Nick"));
  EXPECT_THAT(
      names(*history.ServerSessions(server_, t0 - absl::Hours(1), t0 + absl::Minutes(1), 10)),
      ElementsAre("Ellis"));
  // By name prefix, any case; by SteamID64; an operator sees only their servers' players.
  EXPECT_THAT(*history.Search("ell", "", 10), ElementsAre(Field(&PlayerSummary::name, "Ellis")));
  EXPECT_THAT(*history.Search(std::to_string(kNick), alice_, 10),
              ElementsAre(Field(&PlayerSummary::name, "Nick")));
  EXPECT_TRUE(history.Search("ell", bob_, 10)->empty());
  EXPECT_TRUE(history.Search("zo", "", 10)->empty());
  EXPECT_TRUE(history.PlayerSessions(std::to_string(kEllis), bob_, 10)->empty());
  EXPECT_TRUE(absl::IsNotFound(history.Player("76561197960265729").status()));

  // Pruning: Ellis's closed stay and the events before the cutoff go; Nick's open one stays.
  EXPECT_GT(*history.Prune(t0 + absl::Minutes(150), 100), 0);
  EXPECT_EQ(*history.Prune(t0 + absl::Minutes(150), 100), 0);
  EXPECT_EQ(Count("player_sessions"), 1);
  EXPECT_EQ(Count("player_events"), 0);
  EXPECT_EQ(history.Online(server_)->size(), 1u);
}

// Steam profiles kept with the players: due when never asked or asked before the cutoff; a
// player Steam did not describe keeps what it had; the reads carry them.
TEST_P(PlayerHistoryTest, SteamProfilesAreKeptWithThePlayersAndReadWithThem) {
  PlayerHistory& history = stores_->players;
  const absl::Time t0 = clock_.Now();
  agent::v1::ListPlayerEventsResponse answer;
  answer.set_epoch(1);
  *answer.add_events() = Event(1, agent::v1::PlayerEvent::KIND_JOINED, kEllis, "Ellis", t0);
  *answer.add_events() = Event(2, agent::v1::PlayerEvent::KIND_JOINED, kNick, "Nick", t0);
  ASSERT_TRUE(history.Record(server_, {}, answer).ok());
  const std::string ellis = std::to_string(kEllis), nick = std::to_string(kNick);
  const std::string stranger = "76561197960265729";  // never recorded: never due
  EXPECT_THAT(*history.ProfilesDue({ellis, nick, stranger}, t0),
              ::testing::UnorderedElementsAre(ellis, nick));
  EXPECT_TRUE(history.Profiles({ellis, nick})->empty());

  const SteamProfile ellis_profile{
      .steam_id = ellis,
      .persona_name = "ellis_on_steam",
      .avatar_url = "https://avatars.steamstatic.com/aa_medium.jpg",
      .profile_url = "https://steamcommunity.com/profiles/" + ellis + "/"};
  ASSERT_TRUE(history.SaveProfiles({ellis, nick}, {ellis_profile}).ok());
  EXPECT_TRUE(history.ProfilesDue({ellis, nick}, t0)->empty());
  clock_.Advance(absl::Hours(1));
  EXPECT_THAT(*history.ProfilesDue({ellis, nick}, clock_.Now()),
              ::testing::UnorderedElementsAre(ellis, nick));
  // Asked again, Steam no longer describes Ellis (say a private account): the profile stays.
  ASSERT_TRUE(history.SaveProfiles({ellis}, {}).ok());
  absl::StatusOr<absl::flat_hash_map<std::string, SteamProfile>> profiles =
      history.Profiles({ellis, nick, "", ellis});
  ASSERT_TRUE(profiles.ok()) << profiles.status();
  ASSERT_EQ(profiles->size(), 1u);
  EXPECT_EQ(profiles->at(ellis).persona_name, "ellis_on_steam");
  EXPECT_EQ(profiles->at(ellis).avatar_url, ellis_profile.avatar_url);
  EXPECT_EQ(history.Player(ellis)->profile.avatar_url, ellis_profile.avatar_url);
  EXPECT_EQ(history.Search("ell", "", 10)->front().profile.persona_name, "ellis_on_steam");
  EXPECT_TRUE(history.Player(nick)->profile.empty());
}

L4D2_INSTANTIATE_BACKEND_TEST(PlayerHistoryTest);

}  // namespace
}  // namespace l4d2::controller
