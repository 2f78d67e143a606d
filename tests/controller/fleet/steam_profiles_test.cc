// Steam profiles (controller/fleet/steam_profiles.h) against the Steam Web API stand-in
// (tests/fakes/steam_web_api.py) over real HTTP, on a SQLite history: names and avatars stored
// once per lifetime in calls of at most 100; Steam down, slow or refusing the key changes
// nothing but the avatars, retries later, and never shows the key; replies checked field by
// field.

#include "controller/fleet/steam_profiles.h"

#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/file_util.h"
#include "common/http/curl_http_fetcher.h"
#include "controller/api/headers.h"
#include "controller/store/fleet_stores.h"
#include "controller/store/migrations.h"
#include "controller/store/users.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/time_util.h"
#include "tests/fakes/fake_clock.h"
#include "tests/testing/steam_web_api.h"
#include "tests/testing/temp_dir.h"

namespace l4d2::controller {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kKey[] = "0123456789ABCDEF0123456789ABCDEF";
constexpr uint64_t kEllis = 76561197960287930u;
constexpr uint64_t kNick = 76561197960265738u;  // unknown to Steam's stand-in

class SteamProfilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::filesystem::create_directories(dir_.Sub("api"));
    std::ofstream(dir_.Sub("api/web_api_key")) << kKey << "\n";
    std::ofstream(dir_.Sub("api/profiles.json"))
        << R"({")" << kEllis
        << R"(": {"personaname": "ellis_on_steam", "avatarhash": "fef49e7fa7e1997310d705b2a6158ff8dc1cdfeb"}})";
    absl::StatusOr<l4d2::testing::SteamWebApiStandIn> steam =
        l4d2::testing::StartSteamWebApi(dir_.Sub("api"));
    ASSERT_TRUE(steam.ok()) << steam.status();
    steam_ = *std::move(steam);
    web_api_ = steam_.url;

    absl::StatusOr<std::unique_ptr<Database>> db =
        Database::Open({.url = "sqlite3:" + dir_.Sub("c.db"), .pool_size = 2});
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = *std::move(db);
    ASSERT_TRUE(ApplyMigrations(*db_, ControllerMigrations(), clock_).ok());
    stores_ = std::make_unique<FleetStores>(*db_, clock_);
    UserStore users(*db_, clock_, PasswordCost::Minimal());
    const std::string alice = users.Create("alice", "correct horse battery", Role::kOperator)->id;
    BlueprintInput input{.name = "bp"};
    input.settings.set_game_mode("coop");
    const std::string blueprint = stores_->blueprints.Create(Actor::Operator(alice), input)->id;
    server_id_ =
        stores_->servers.Create(Actor::Operator(alice), "s1", blueprint, DesiredState::kRunning)
            ->id;
    Join({kEllis, kNick});
  }

  // Records joins of `steam_ids` on the server, as the player feed does.
  void Join(const std::vector<uint64_t>& steam_ids) {
    agent::v1::ListPlayerEventsResponse answer;
    answer.set_epoch(1);
    for (uint64_t steam_id : steam_ids) {
      agent::v1::PlayerEvent* event = answer.add_events();
      event->set_seq(++seq_);
      event->set_kind(agent::v1::PlayerEvent::KIND_JOINED);
      *event->mutable_at() =
          google::protobuf::util::TimeUtil::NanosecondsToTimestamp(absl::ToUnixNanos(clock_.Now()));
      event->mutable_player()->set_name(absl::StrCat("player", seq_));
      event->mutable_player()->set_user_id(static_cast<int32_t>(seq_));
      event->mutable_player()->set_steam_id64(steam_id);
    }
    absl::StatusOr<GameLogCursor> cursor = stores_->players.Cursor(server_id_);
    ASSERT_TRUE(cursor.ok());
    ASSERT_TRUE(stores_->players.Record(server_id_, *cursor, answer).ok());
  }

  // The SteamID lists of the calls Steam's stand-in answered.
  std::vector<std::string> Calls() {
    absl::StatusOr<std::string> log = ReadFileToString(dir_.Sub("api/summaries.log"));
    return log.ok() ? std::vector<std::string>(absl::StrSplit(*log, '\n', absl::SkipEmpty()))
                    : std::vector<std::string>();
  }

  SteamProfilesOptions Options() {
    return {.web_api = web_api_,
            .key = kKey,
            .lifetime = absl::Hours(24),
            .timeout = absl::Seconds(1),
            .retry = absl::Milliseconds(100)};
  }

  l4d2::testing::TempDir dir_;
  l4d2::testing::SteamWebApiStandIn steam_;
  std::string web_api_;
  l4d2::testing::FakeClock clock_;
  std::unique_ptr<Database> db_;
  std::unique_ptr<FleetStores> stores_;
  std::string server_id_;
  int64_t seq_ = 0;
  CurlHttpFetcher http_;
  const std::string ellis_ = std::to_string(kEllis), nick_ = std::to_string(kNick);
};

TEST_F(SteamProfilesTest, NamesAndAvatarsAreStoredOncePerLifetimeInCallsOfAHundred) {
  SteamProfiles profiles(stores_->players, http_, clock_, Options());
  profiles.Want({ellis_, nick_, ellis_, ""});
  EXPECT_EQ(profiles.waiting(), 2u);
  ASSERT_TRUE(profiles.Batch().ok());
  // One call for both, in whatever order the database listed them.
  EXPECT_THAT(Calls(),
              ::testing::ElementsAre(::testing::AnyOf(ellis_ + "," + nick_, nick_ + "," + ellis_)));
  absl::StatusOr<PlayerSummary> ellis = stores_->players.Player(ellis_);
  ASSERT_TRUE(ellis.ok());
  EXPECT_EQ(ellis->profile.persona_name, "ellis_on_steam");
  EXPECT_EQ(ellis->profile.avatar_url,
            "https://avatars.steamstatic.com/fef49e7fa7e1997310d705b2a6158ff8dc1cdfeb_medium.jpg");
  EXPECT_EQ(ellis->profile.profile_url, "https://steamcommunity.com/profiles/" + ellis_ + "/");
  EXPECT_EQ(ellis->name, "player1");  // the game's name is kept beside Steam's
  EXPECT_TRUE(stores_->players.Player(nick_)->profile.empty());

  // Joining again within the lifetime asks nothing; after it, Steam is asked again.
  profiles.Want({ellis_, nick_});
  ASSERT_TRUE(profiles.Batch().ok());
  EXPECT_EQ(Calls().size(), 1u);
  clock_.Advance(absl::Hours(25));
  profiles.Want({ellis_});
  ASSERT_TRUE(profiles.Batch().ok());
  EXPECT_EQ(Calls().size(), 2u);
  EXPECT_EQ(profiles.counters().calls, 2);

  // 250 new players: three calls, none above 100 SteamIDs.
  std::vector<uint64_t> many;
  std::vector<std::string> many_ids;
  for (uint64_t i = 0; i < 250; ++i) {
    many.push_back(76561198000000000u + i);
    many_ids.push_back(std::to_string(many.back()));
  }
  Join(many);
  profiles.Want(many_ids);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(profiles.Batch().ok());
  EXPECT_EQ(profiles.waiting(), 0u);
  const std::vector<std::string> calls = Calls();
  ASSERT_EQ(calls.size(), 5u);
  for (size_t i = 2; i < calls.size(); ++i) {
    EXPECT_LE(std::vector<std::string>(absl::StrSplit(calls[i], ',')).size(), 100u);
  }
}

TEST_F(SteamProfilesTest, SteamDownSlowOrRefusingTheKeyChangesNothingButAvatars) {
  SteamProfiles profiles(stores_->players, http_, clock_, Options());
  profiles.Want({ellis_});
  ASSERT_TRUE(profiles.Batch().ok());
  const SteamProfile before = stores_->players.Player(ellis_)->profile;
  ASSERT_FALSE(before.empty());
  clock_.Advance(absl::Hours(25));

  // Down: the SteamIDs wait for the next try; what was stored stays.
  std::ofstream(dir_.Sub("api/down")) << "";
  profiles.Want({ellis_, nick_});
  absl::Status down = profiles.Batch();
  EXPECT_TRUE(absl::IsUnavailable(down)) << down;
  EXPECT_THAT(std::string(down.message()), Not(HasSubstr(kKey)));
  EXPECT_EQ(profiles.waiting(), 2u);
  EXPECT_EQ(stores_->players.Player(ellis_)->profile.avatar_url, before.avatar_url);
  std::filesystem::remove(dir_.Sub("api/down"));

  // Slow: the call gives up at its timeout.
  std::ofstream(dir_.Sub("api/slow")) << "3";
  const absl::Time start = absl::Now();
  absl::Status slow = profiles.Batch();
  EXPECT_FALSE(slow.ok());
  EXPECT_LT(absl::Now() - start, absl::Seconds(2.5));
  EXPECT_THAT(std::string(slow.message()), Not(HasSubstr(kKey)));
  EXPECT_EQ(profiles.waiting(), 2u);
  std::filesystem::remove(dir_.Sub("api/slow"));

  // A key Steam refuses: UNAUTHENTICATED, and the key is not in what is said.
  const std::string wrong = "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF";
  SteamProfiles refused(stores_->players, http_, clock_, {.web_api = web_api_, .key = wrong});
  refused.Want({ellis_});
  absl::Status status = refused.Batch();
  EXPECT_TRUE(absl::IsUnauthenticated(status)) << status;
  EXPECT_THAT(std::string(status.message()), Not(HasSubstr(wrong)));

  // The worker: Steam down, then back. It logs the failure without the key or the URL's query
  // and delivers once Steam answers.
  std::ofstream(dir_.Sub("api/down")) << "";
  ::testing::internal::CaptureStderr();
  profiles.Start();
  for (int i = 0; i < 100 && profiles.counters().failures < 4; ++i) {
    absl::SleepFor(absl::Milliseconds(50));
  }
  std::filesystem::remove(dir_.Sub("api/down"));
  for (int i = 0; i < 100 && profiles.waiting() > 0; ++i) absl::SleepFor(absl::Milliseconds(50));
  profiles.Stop();
  const std::string logged = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(profiles.waiting(), 0u);
  EXPECT_THAT(logged, HasSubstr("steam profiles: request failed: HTTP 503"));
  EXPECT_THAT(logged, Not(HasSubstr(kKey)));
  EXPECT_THAT(logged, Not(HasSubstr("steamids=")));
  EXPECT_EQ(profiles.counters().profiles, 2);  // the first call's and the one after Steam came back
}

TEST(PlayerSummariesTest, RepliesAreCheckedFieldByField) {
  absl::StatusOr<std::vector<SteamProfile>> parsed = ParsePlayerSummaries(R"json({"response": {
    "players": [
      {"steamid": "76561197960287930", "personaname": "ok",
       "avatarmedium": "https://avatars.steamstatic.com/a_medium.jpg",
       "profileurl": "https://steamcommunity.com/id/ok/"},
      {"steamid": "76561197960265738", "personaname": "bad",
       "avatarmedium": "https://evil.example/a.jpg", "profileurl": "javascript:alert(1)"},
      {"steamid": "76561197960265739",
       "avatarmedium": "http://avatars.steamstatic.com/a_medium.jpg"},
      {"steamid": "12345", "personaname": "not an individual account"},
      {"steamid": 76561197960265740, "personaname": "a number, not a string"},
      "not an object"]}})json");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  ASSERT_EQ(parsed->size(), 3u);
  EXPECT_EQ((*parsed)[0].persona_name, "ok");
  EXPECT_EQ((*parsed)[0].avatar_url, "https://avatars.steamstatic.com/a_medium.jpg");
  EXPECT_EQ((*parsed)[0].profile_url, "https://steamcommunity.com/id/ok/");
  EXPECT_EQ((*parsed)[1].avatar_url, "");   // not one of Steam's avatar hosts
  EXPECT_EQ((*parsed)[1].profile_url, "");  // not https://steamcommunity.com
  EXPECT_EQ((*parsed)[2].avatar_url, "");   // not https
  EXPECT_EQ(ParsePlayerSummaries("<html>").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParsePlayerSummaries(R"({"response": {}})").status().code(),
            absl::StatusCode::kInvalidArgument);
  const std::string long_name(400, 'x');
  parsed = ParsePlayerSummaries(
      absl::StrCat(R"({"response": {"players": [{"steamid": "76561197960287930", "personaname": ")",
                   long_name, R"("}]}})"));
  ASSERT_TRUE(parsed.ok());
  EXPECT_LE(parsed->front().persona_name.size(), 128u);
  EXPECT_EQ(PlayerSummariesUrl("https://api.steampowered.com", kKey, {"1", "2"}),
            absl::StrCat("https://api.steampowered.com/ISteamUser/GetPlayerSummaries/v2/?key=",
                         kKey, "&steamids=1,2"));
}

// The web UI shows avatars from Steam's hosts, and only from them.
TEST(PlayerSummariesTest, TheContentSecurityPolicyAllowsImagesFromSteamsAvatarHostsAlone) {
  std::string policy;
  for (const auto& [name, value] : SecurityHeaders()) {
    if (name == "Content-Security-Policy") policy = value;
  }
  std::string images;
  for (absl::string_view directive : absl::StrSplit(policy, "; ")) {
    if (absl::StartsWith(directive, "img-src ")) images = std::string(directive);
  }
  std::string expected = "img-src 'self' data:";
  for (absl::string_view origin : kSteamAvatarOrigins) absl::StrAppend(&expected, " ", origin);
  EXPECT_EQ(images, expected);
}

}  // namespace
}  // namespace l4d2::controller
