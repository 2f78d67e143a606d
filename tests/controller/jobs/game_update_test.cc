// Game updates (controller/jobs/game_update.h) through the real job queue on SQLite and
// PostgreSQL, every job run by RunJob against a fake agent whose Steam has a newer build: the
// check announcing a build once and starting a rolling update only where the policy says; a
// fleet of 3 hosts and 30 servers, 10 with players, moved with no server restarted while
// players were on before the deadline, never more than max_parallel restarts at once, a player
// who joined between the look and the restart keeping the server up, warnings before the
// deadline and restarts at it; a failed install leaving its host's servers alone.

#include "controller/jobs/game_update.h"

#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "controller/jobs/job_kinds.h"
#include "gmock/gmock.h"
#include "l4d2/controller/v1/jobs.pb.h"
#include "rpc/proto_json.h"
#include "rpc/proto_time.h"
#include "tests/controller/jobs/fake_agent_client.h"
#include "tests/controller/store/backend_test.h"

namespace l4d2::controller {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

constexpr absl::Duration kLease = absl::Seconds(30);

class GameUpdateTest : public FleetBackendTest {
 protected:
  void SetUp() override {
    FleetBackendTest::SetUp();
    if (IsSkipped()) return;
    admin_ = NewUser("root", Role::kAdmin);
    alice_ = NewUser("alice");
    for (const char* name : {"h1", "h2", "h3"}) {
      auto host = stores_->hosts.Create(
          {.name = name, .address = "127.0.0.1:1", .max_instances = 10}, absl::Hours(1));
      ASSERT_TRUE(host.ok());
      ASSERT_TRUE(stores_->hosts.RedeemEnrollmentToken(host->second).ok());
      ASSERT_TRUE(stores_->hosts.SetInstalledBuild(host->first.id, "100").ok());
      hosts_[name] = host->first.id;
    }
    auto blueprint = stores_->blueprints.Create(alice_, {.name = "versus"});
    ASSERT_TRUE(blueprint.ok()) << blueprint.status();
    // 30 servers; every third has players on (10 of them).
    for (int i = 0; i < 30; ++i) {
      const std::string name = absl::StrFormat("vs%02d", i);
      auto server = stores_->servers.Create(alice_, name, blueprint->id, DesiredState::kRunning);
      ASSERT_TRUE(server.ok());
      auto placed = stores_->servers.Place(server->id, {.memory_per_server_bytes = 0});
      ASSERT_TRUE(placed.ok()) << placed.status();
      ids_[name] = server->id;
      if (i % 3 == 0) SetPlayers(name, 2);
    }
    Observe();
    agent_.latest_build = "101";
    agent_.installed_build = "101";
  }

  void SetPlayers(const std::string& name, int players) {
    agent_.players_in_game[name] = players;
    observed_players_[name] = players;
  }

  // The hosts report: every server running, on the build it last started on (those restarted
  // moved to 101), with the players A2S counts (`observed_players_`).
  void Observe() {
    std::map<std::string, std::vector<InstanceObservation>> by_host;
    for (const auto& [name, id] : ids_) {
      Server server = *stores_->servers.Get(Actor::System(), id);
      by_host[server.host_id].push_back({.name = name,
                                         .state = ServerState::kRunning,
                                         .status = "{}",
                                         .players = observed_players_[name],
                                         .build = restarted_.contains(id) ? "101" : "100"});
    }
    for (const auto& [host, instances] : by_host) {
      ASSERT_TRUE(stores_->servers.ObserveHost(host, instances).ok());
    }
  }

  v1::UpdatePolicy Rolling(int max_parallel) {
    v1::UpdatePolicy policy;
    policy.set_mode("rolling");
    *policy.mutable_deadline() = ProtoDurationOf(absl::Hours(1));
    *policy.mutable_warning_lead() = ProtoDurationOf(absl::Minutes(5));
    policy.set_warning("say Restart for a game update in %s");
    policy.set_max_parallel(max_parallel);
    return policy;
  }

  // One pass of a controller: every due job claimed and run by RunJob to its end or its park.
  // Returns the kinds run.
  std::vector<std::string> Pass() {
    std::vector<std::string> kinds;
    absl::StatusOr<std::vector<Job>> claimed = stores_->jobs.Claim("controller-a", 100, kLease);
    EXPECT_TRUE(claimed.ok()) << claimed.status();
    for (const Job& job : *claimed) {
      kinds.push_back(job.kind);
      JobEnding ending{.id = job.id, .owner = "controller-a", .not_before = clock_.Now()};
      absl::StatusOr<JobOutcome> outcome =
          RunJob({.stores = *stores_, .agents = agent_, .placement = {}}, job, call_);
      if (outcome.ok() && outcome->park_until) {
        ending.state = JobState::kQueued;
        ending.park = true;
        ending.not_before = *outcome->park_until;
        ending.result = outcome->result;
      } else if (outcome.ok()) {
        ending.result = outcome->result;
        if (job.kind == "server.restart") {
          restarted_.insert(FromJson<v1::ServerJobParams>(job.params)->server_id());
        }
      } else {
        ending.state = JobState::kFailed;
        ending.error = outcome.status();
      }
      absl::StatusOr<std::vector<absl::Status>> written = stores_->jobs.Write({}, {ending});
      EXPECT_TRUE(written.ok() && (*written)[0].ok()) << job.id;
    }
    Observe();
    return kinds;
  }

  Job Only(const std::string& kind) {
    absl::StatusOr<std::vector<Job>> jobs = stores_->jobs.List({.kind = kind});
    EXPECT_TRUE(jobs.ok() && jobs->size() == 1) << kind;
    return jobs->front();
  }

  std::vector<Job> Jobs(const std::string& kind) {
    absl::StatusOr<std::vector<Job>> jobs = stores_->jobs.List({.kind = kind});
    EXPECT_TRUE(jobs.ok()) << jobs.status();
    return jobs.ok() ? *std::move(jobs) : std::vector<Job>();
  }

  int Unfinished(const std::string& kind) {
    int count = 0;
    for (const Job& job : Jobs(kind)) {
      if (job.state == JobState::kQueued || job.state == JobState::kRunning) ++count;
    }
    return count;
  }

  // The servers an agent was asked to restart, by instance name.
  std::set<std::string> RestartedOnAgent() {
    std::set<std::string> names;
    for (const std::string& call : agent_.calls) {
      if (absl::StartsWith(call, "Restart ")) names.insert(call.substr(8, 4));
    }
    return names;
  }

  // Passes 2 s apart until the update job parks waiting (no restart left to run) or ends;
  // checks that never more than `max_parallel` restarts were unfinished at once.
  void RollUntilQuiet(int max_parallel) {
    for (int i = 0; i < 200; ++i) {
      clock_.Advance(absl::Seconds(2));
      Pass();
      EXPECT_LE(Unfinished("server.restart"), max_parallel);
      const Job update = Only("game.update");
      if (update.state != JobState::kQueued && update.state != JobState::kRunning) return;
      if (Unfinished("server.restart") == 0 && Unfinished("host.install") == 0 &&
          update.not_before > clock_.Now() + absl::Seconds(2)) {
        return;
      }
      if (i > 40 && Unfinished("server.restart") == 0 && Unfinished("host.install") == 0) return;
    }
  }

  Actor admin_, alice_;
  std::map<std::string, std::string> hosts_, ids_;  // by name
  std::map<std::string, int> observed_players_;
  std::set<std::string> restarted_;  // server ids
  FakeAgentClient agent_;
  FakeAgentCall call_;
};

TEST_P(GameUpdateTest, PoliciesAreCheckedAndRefusedWithTheFieldNamed) {
  EXPECT_EQ(stores_->updates.Policy()->mode(), "notify");
  auto refused = [&](const std::string& json, const std::string& field) {
    v1::UpdatePolicy policy = *FromJson<v1::UpdatePolicy>(json);
    absl::StatusOr<v1::UpdatePolicy> set = stores_->updates.SetPolicy("user:x", policy);
    EXPECT_TRUE(absl::IsInvalidArgument(set.status())) << json;
    EXPECT_THAT(set.status().message(), HasSubstr(field)) << json;
  };
  refused(R"({"mode": "sometimes"})", "mode");
  refused(R"({"mode": "rolling", "deadline": "30s"})", "deadline");
  refused(R"({"mode": "rolling", "deadline": "600s", "warningLead": "600s"})", "warning_lead");
  refused(R"({"mode": "rolling", "maxParallel": 500})", "max_parallel");
  refused(R"({"mode": "rolling", "warning": "say a\nquit"})", "warning");
  refused(R"({"hostModes": {"nohost": "off"}})", "host_modes[nohost]");
  refused(R"({"hostModes": {")" + hosts_["h1"] + R"(": "maybe"}})", "host_modes");
  EXPECT_EQ(stores_->updates.Policy()->mode(), "notify");  // nothing changed

  absl::StatusOr<v1::UpdatePolicy> set = stores_->updates.SetPolicy("user:x", Rolling(3));
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_EQ(stores_->updates.Policy()->max_parallel(), 3);
  EXPECT_EQ(stores_->updates.Policy()->updated_by(), "user:x");
  auto audit = stores_->audit.List({.action_prefix = "updates.policy"});
  ASSERT_TRUE(audit.ok());
  EXPECT_EQ(audit->size(), 1u);
}

TEST_P(GameUpdateTest, ANotifyPolicyAnnouncesANewBuildOnceAndUpdatesNothing) {
  v1::UpdatePolicy policy;
  policy.set_mode("notify");
  (*policy.mutable_host_modes())[hosts_["h3"]] = "off";
  ASSERT_TRUE(stores_->updates.SetPolicy("user:x", policy).ok());
  for (int round = 0; round < 2; ++round) {
    absl::StatusOr<std::string> check = QueueGameCheck(*stores_, "schedule", "system");
    ASSERT_TRUE(check.ok() && !check->empty()) << check.status();
    EXPECT_THAT(Pass(), Contains("game.check"));
    const Job job = *stores_->jobs.Get(*check);
    ASSERT_EQ(job.state, JobState::kSucceeded) << job.error;
    const v1::GameCheckResult result = *FromJson<v1::GameCheckResult>(job.result);
    EXPECT_EQ(result.latest_build(), "101");
    // h3 is off: listed, not asked.
    ASSERT_EQ(result.hosts_size(), 3);
    EXPECT_EQ(std::count(agent_.calls.begin(), agent_.calls.end(), "CheckForUpdate"),
              2 * (round + 1));
    EXPECT_EQ(result.hosts(2).host_name(), "h3");
    EXPECT_EQ(result.hosts(2).mode(), "off");
    EXPECT_EQ(result.hosts(2).latest_build(), "");
    EXPECT_EQ(result.hosts(2).installed_build(), "100");
    EXPECT_EQ(result.announced(), round == 0);
    EXPECT_TRUE(result.update_job_id().empty());
    EXPECT_EQ(result.hosts(0).servers_behind(), 0);  // their servers run the installed build
  }
  EXPECT_EQ(stores_->audit.List({.action_prefix = "update.available"})->size(), 1u);
  EXPECT_THAT(Jobs("game.update"), IsEmpty());
  EXPECT_THAT(Jobs("host.install"), IsEmpty());
  const Versioned<v1::UpdateState> state = *stores_->updates.State();
  EXPECT_EQ(state.value.latest_build(), "101");
  EXPECT_EQ(state.value.announced_build(), "101");
  // A check already queued is not queued twice.
  ASSERT_TRUE(QueueGameCheck(*stores_, "schedule", "system").ok());
  EXPECT_EQ(*QueueGameCheck(*stores_, "schedule", "system"), "");
}

TEST_P(GameUpdateTest, AFleetMovesToTheNewBuildWithNoGameInterruptedBeforeTheDeadline) {
  ASSERT_TRUE(stores_->updates.SetPolicy("user:x", Rolling(3)).ok());
  absl::StatusOr<std::string> check = QueueGameCheck(*stores_, "schedule", "system");
  ASSERT_TRUE(check.ok());
  Pass();
  const v1::GameCheckResult checked =
      *FromJson<v1::GameCheckResult>(stores_->jobs.Get(*check)->result);
  ASSERT_FALSE(checked.update_job_id().empty());
  EXPECT_TRUE(checked.announced());

  // Installs on all three hosts, then the 20 empty servers, 3 at a time.
  RollUntilQuiet(3);
  EXPECT_EQ(Jobs("host.install").size(), 3u);
  for (const auto& [name, id] : hosts_) {
    EXPECT_EQ(stores_->hosts.Get(id)->installed_build, "101") << name;
  }
  std::set<std::string> with_players, empty;
  for (const auto& [name, players] : observed_players_) {
    (players > 0 ? with_players : empty).insert(name);
  }
  ASSERT_EQ(with_players.size(), 10u);
  const std::set<std::string> restarted = RestartedOnAgent();
  EXPECT_EQ(restarted, empty);  // 20, none with players on
  for (const Job& restart : Jobs("server.restart")) {
    EXPECT_TRUE(FromJson<v1::ServerJobParams>(restart.params)->only_when_empty());
  }
  Job update = Only("game.update");
  EXPECT_EQ(update.state, JobState::kQueued);  // parked, waiting for players to leave

  // vs00's players leave: restarted. vs03 looks empty to A2S but a player is joining (the
  // game's live list says so): its restart is refused and it waits again.
  SetPlayers("vs00", 0);
  observed_players_["vs03"] = 0;
  Observe();
  clock_.Advance(absl::Seconds(5));
  RollUntilQuiet(3);
  EXPECT_THAT(RestartedOnAgent(), Contains("vs00"));
  EXPECT_THAT(RestartedOnAgent(), Not(Contains("vs03")));
  EXPECT_THAT(call_.events, Contains(HasSubstr("vs03: players joined just before its restart")));
  observed_players_["vs03"] = 2;
  Observe();

  // 5 minutes before the deadline: the players of the 9 servers left are warned, once.
  const absl::Time started =
      TimeOf(FromJson<v1::GameUpdateProgress>(Only("game.update").result)->started_at());
  clock_.Advance(started + absl::Minutes(55) + absl::Seconds(1) - clock_.Now());
  RollUntilQuiet(3);
  int warnings = 0;
  for (const std::string& call : agent_.calls) {
    if (absl::StrContains(call, ":warn:")) ++warnings;
  }
  EXPECT_EQ(warnings, 9);
  EXPECT_THAT(call_.events, Contains(HasSubstr("\"say Restart for a game update in 4m")));
  EXPECT_EQ(RestartedOnAgent().size(), 21u);  // nobody restarted with players on yet

  // At the deadline: the 9 are restarted, players on, 3 at a time.
  clock_.Advance(absl::Minutes(5));
  RollUntilQuiet(3);
  update = Only("game.update");
  ASSERT_EQ(update.state, JobState::kSucceeded) << update.error;
  const v1::GameUpdateResult result = *FromJson<v1::GameUpdateResult>(update.result);
  EXPECT_EQ(result.build(), "101");
  EXPECT_EQ(result.hosts_updated(), 3);
  EXPECT_EQ(result.servers_restarted_empty(), 21);
  EXPECT_EQ(result.servers_restarted_forced(), 9);
  EXPECT_EQ(result.servers_failed(), 0);
  EXPECT_EQ(RestartedOnAgent().size(), 30u);
  warnings = 0;
  for (const std::string& call : agent_.calls) {
    if (absl::StrContains(call, ":warn:")) ++warnings;
  }
  EXPECT_EQ(warnings, 9);  // not again
  // The check's record of the hosts follows the installs; no server is behind any more.
  const Versioned<v1::UpdateState> state = *stores_->updates.State();
  for (const v1::HostBuild& host : state.value.hosts()) EXPECT_EQ(host.installed_build(), "101");
  EXPECT_THAT(stores_->servers.BehindByHost().value(), IsEmpty());
  // A server that moved is not moved again by the next check.
  ASSERT_TRUE(QueueGameCheck(*stores_, "schedule", "system").ok());
  Pass();
  EXPECT_EQ(Jobs("game.update").size(), 1u);
}

TEST_P(GameUpdateTest, AFailedInstallLeavesItsHostsServersOnTheirBuild) {
  ASSERT_TRUE(stores_->updates.SetPolicy("user:x", Rolling(5)).ok());
  for (const auto& [name, players] : observed_players_) SetPlayers(name, 0);
  agent_.failures["Install@h2"] = absl::FailedPreconditionError("steamcmd: Disk write failure");
  absl::StatusOr<std::string> update = QueueGameUpdate(*stores_, {}, admin_.Name());
  ASSERT_TRUE(update.ok()) << update.status();
  // One at a time: a second is refused, naming the first.
  absl::StatusOr<std::string> again = QueueGameUpdate(*stores_, {}, admin_.Name());
  EXPECT_TRUE(absl::IsFailedPrecondition(again.status()));
  EXPECT_THAT(again.status().message(), HasSubstr(*update));
  RollUntilQuiet(5);
  const Job job = *stores_->jobs.Get(*update);
  ASSERT_EQ(job.state, JobState::kFailed);
  EXPECT_THAT(job.error.message(), HasSubstr("installs failed on 1 host(s)"));
  EXPECT_THAT(job.error.message(), HasSubstr("h2: install failed: steamcmd: Disk write failure"));
  EXPECT_EQ(stores_->hosts.Get(hosts_["h2"])->installed_build, "100");
  for (const auto& [name, id] : ids_) {
    const Server server = *stores_->servers.Get(Actor::System(), id);
    EXPECT_EQ(RestartedOnAgent().contains(name), server.host_id != hosts_["h2"]) << name;
  }
  EXPECT_EQ(stores_->audit.List({.action_prefix = "update.rolling"})->size(), 1u);
}

L4D2_INSTANTIATE_BACKEND_TEST(GameUpdateTest);

}  // namespace
}  // namespace l4d2::controller
