// What each job kind does, against a fake agent and the stores on SQLite: every server action on
// placed and unplaced servers, installs and overlay syncs, and what each does when the agent is
// unreachable, aborts the operation, has no such instance, the host is unreachable, or the job
// is cancelled. The machinery (claims, leases, retries) is scheduler_test's; the real agents are
// the root fleet tests'.

#include "controller/jobs/job_kinds.h"

#include "absl/strings/str_cat.h"
#include "controller/store/migrations.h"
#include "controller/store/users.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "l4d2/controller/v1/jobs.pb.h"
#include "rpc/proto_json.h"
#include "tests/controller/jobs/fake_agent_client.h"
#include "tests/fakes/fake_clock.h"
#include "tests/testing/temp_dir.h"

namespace l4d2::controller {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

class JobKindsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // A database of its own at each SetUp (the decision table calls it again per case).
    stores_.reset();
    db_.reset();
    auto db = Database::Open(
        {.url = "sqlite3:" + dir_.Sub(absl::StrCat("jobs", ++databases_, ".db")), .pool_size = 2});
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = *std::move(db);
    ASSERT_TRUE(ApplyMigrations(*db_, ControllerMigrations(), clock_).ok());
    stores_ = std::make_unique<FleetStores>(*db_, clock_);
    UserStore users(*db_, clock_, PasswordCost::Minimal());
    alice_ = Actor::Operator(users.Create("alice", "correct horse battery", Role::kOperator)->id);
    auto host = stores_->hosts.Create({.name = "h1", .address = "127.0.0.1:1"}, absl::Hours(1));
    ASSERT_TRUE(host.ok());
    host_ = host->first.id;
    ASSERT_TRUE(stores_->hosts.RedeemEnrollmentToken(host->second).ok());
    ASSERT_TRUE(stores_->hosts.SetInstalledBuild(host_, "9000001").ok());
    agent::v1::SyncOverlayRequest source;
    agent::v1::InlineFile* file = source.mutable_inline_files()->add_files();
    file->set_path("left4dead2/cfg/x.cfg");
    file->set_content("sv_cheats 0\n");
    auto overlay = stores_->overlays.Create(alice_, "u-alice/maps", false, source);
    ASSERT_TRUE(overlay.ok()) << overlay.status();
    overlay_ = overlay->id;
    auto blueprint = stores_->blueprints.Create(
        alice_, {.name = "coop", .overlays = {{.overlay_id = overlay_, .exec_server_cfg = false}}});
    ASSERT_TRUE(blueprint.ok()) << blueprint.status();
    blueprint_ = blueprint->id;
  }

  std::string NewServer(const std::string& name, const std::string& desired, bool placed) {
    auto server = stores_->servers.Create(alice_, name, blueprint_, *ParseDesiredState(desired));
    EXPECT_TRUE(server.ok()) << server.status();
    if (placed) {
      EXPECT_TRUE(stores_->servers.Place(server->id, {}).ok());
    }
    return server->id;
  }

  absl::StatusOr<std::string> Run(const NewJob& made) {
    Job job{.id = "j1", .kind = made.kind, .params = made.params};
    absl::StatusOr<JobOutcome> outcome =
        RunJob({.stores = *stores_, .agents = agent_, .placement = {}}, job, call_);
    if (!outcome.ok()) return outcome.status();
    EXPECT_FALSE(outcome->park_until.has_value());  // only schedule runs park
    return outcome->result;
  }

  // The state a server job reported.
  static std::string State(const absl::StatusOr<std::string>& result) {
    if (!result.ok()) return result.status().ToString();
    return FromJson<v1::ServerJobResult>(*result)->state();
  }

  l4d2::testing::TempDir dir_;
  int databases_ = 0;
  l4d2::testing::FakeClock clock_;
  std::unique_ptr<Database> db_;
  std::unique_ptr<FleetStores> stores_;
  Actor alice_;
  std::string host_, overlay_, blueprint_;
  FakeAgentClient agent_;
  FakeAgentCall call_;
};

// Each server action on a placed server: the agent calls it makes, with their operation ids,
// and the state it records.
TEST_F(JobKindsTest, EveryServerActionMakesItsAgentCallsInOrder) {
  struct Case {
    std::string action;
    std::string desired;
    std::vector<std::string> calls;
    std::string state;
  };
  // The overlay sync's step; its overlay id differs per case's database.
  const std::string kSync = "SYNC";
  const std::vector<Case> cases = {
      {"create", "running", {kSync, "Initialize s j1:init", "Start s j1:start"}, "running"},
      {"create", "stopped", {kSync, "Initialize s j1:init", "Get s"}, "running"},
      {"start", "running", {kSync, "Initialize s j1:init", "Start s j1:start"}, "running"},
      {"restart", "running", {kSync, "Initialize s j1:init", "Restart s j1:restart"}, "running"},
      {"stop", "stopped", {"Stop s j1:stop"}, "stopped"},
      {"reset", "stopped", {"Reset s j1:reset"}, "stopped"},
      {"delete", "stopped", {"Delete s j1:delete"}, "deleted"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.action + " " + c.desired);
    SetUp();  // a fresh database, so the overlay is synced again
    agent_ = FakeAgentClient();
    agent_.state = c.state == "stopped" ? agent::v1::INSTANCE_STATE_STOPPED
                                        : agent::v1::INSTANCE_STATE_RUNNING;
    const std::string id = NewServer("s", c.desired, true);
    absl::StatusOr<std::string> result = Run(ServerJob(c.action, id, "t"));
    ASSERT_TRUE(result.ok()) << result.status();
    std::vector<std::string> expected = c.calls;
    for (std::string& call : expected) {
      if (call == kSync) call = absl::StrCat("SyncOverlay u-alice/maps j1:sync:", overlay_, ":1");
    }
    EXPECT_EQ(agent_.calls, expected);
    EXPECT_EQ(State(result), c.state);
    EXPECT_EQ(stores_->servers.Get(Actor::System(), id).ok(), c.action != "delete");
  }
}

TEST_F(JobKindsTest, AnOverlayAlreadyAtItsRevisionIsNotSyncedAgain) {
  const std::string id = NewServer("s", "running", true);
  ASSERT_TRUE(Run(ServerJob("start", id, "t")).ok());
  agent_.calls.clear();
  ASSERT_TRUE(Run(ServerJob("restart", id, "t")).ok());
  EXPECT_THAT(agent_.calls, ElementsAre("Initialize s j1:init", "Restart s j1:restart"));
}

TEST_F(JobKindsTest, AnUnplacedServerIsPlacedToStartAndNeedsNoAgentToStopOrDelete) {
  const std::string id = NewServer("s", "running", false);
  EXPECT_EQ(State(Run(ServerJob("stop", id, "t"))), "stopped");
  EXPECT_THAT(agent_.calls, IsEmpty());
  ASSERT_TRUE(Run(ServerJob("start", id, "t")).ok());
  EXPECT_EQ(stores_->servers.Get(Actor::System(), id)->host_id, host_);
  EXPECT_THAT(call_.events, ::testing::Contains(HasSubstr("step: placed on host " + host_)));
  const std::string other = NewServer("t", "stopped", false);
  EXPECT_EQ(State(Run(ServerJob("delete", other, "t"))), "deleted");
  EXPECT_FALSE(stores_->servers.Get(Actor::System(), other).ok());
}

// Placement skips what the agent reports in use; a port taken since (an instance made on the
// agent directly) sends the server to the next free port, once; twice taken fails clearly and
// leaves the server unplaced.
TEST_F(JobKindsTest, APortTakenOnTheHostIsAvoidedAndAPortFoundTakenIsPlacedAgainOnce) {
  const int first = stores_->hosts.Get(host_)->port_first;
  ASSERT_TRUE(stores_->hosts.SetPortsInUse(host_, {first, first + 1}).ok());
  const std::string id = NewServer("s", "running", false);
  agent_.taken_ports = {{host_, first + 2}};
  absl::StatusOr<std::string> result = Run(ServerJob("create", id, "t"));
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(FromJson<v1::ServerJobResult>(*result)->port(), first + 3);
  EXPECT_EQ(stores_->servers.Get(Actor::System(), id)->port, first + 3);
  EXPECT_THAT(stores_->hosts.Get(host_)->ports_in_use, ElementsAre(first, first + 1, first + 2));
  const std::vector<std::string> expected = {
      absl::StrCat("Initialize s j1:init port ", first + 2, " taken"), "Initialize s j1.2:init",
      "Start s j1.2:start"};
  EXPECT_THAT(agent_.calls, ::testing::IsSupersetOf(expected));
  EXPECT_THAT(call_.events, ::testing::Contains(HasSubstr("placing again")));

  // Both tries meet a taken port: a clear error, the server unplaced, both ports remembered.
  const std::string other = NewServer("t", "running", false);
  agent_.taken_ports = {{host_, first + 4}, {host_, first + 5}};
  absl::StatusOr<std::string> failed = Run(ServerJob("create", other, "t"));
  EXPECT_EQ(failed.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(failed.status().message(),
              HasSubstr(absl::StrCat("port ", first + 4, " on host h1 and port ", first + 5,
                                     " on host h1 were both taken")));
  EXPECT_THAT(failed.status().message(), HasSubstr("start it again"));
  EXPECT_TRUE(stores_->servers.Get(Actor::System(), other)->host_id.empty());
  EXPECT_THAT(stores_->hosts.Get(host_)->ports_in_use,
              ElementsAre(first, first + 1, first + 2, first + 4, first + 5));
  // Started again, it goes around both.
  agent_.taken_ports.clear();
  ASSERT_TRUE(Run(ServerJob("start", other, "t")).ok());
  EXPECT_EQ(stores_->servers.Get(Actor::System(), other)->port, first + 6);

  // A placed server meeting a taken port is not moved: its job fails with the agent's error.
  agent_.taken_ports = {{host_, first + 3}};
  absl::StatusOr<std::string> placed = Run(ServerJob("restart", id, "t"));
  EXPECT_EQ(placed.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(stores_->servers.Get(Actor::System(), id)->port, first + 3);
}

TEST_F(JobKindsTest, AgentFailuresComeBackWithTheirCodesAndChangeNothing) {
  const std::string id = NewServer("s", "running", true);
  for (const absl::Status& failure :
       {absl::UnavailableError("agent unreachable"), absl::AbortedError("operation aborted"),
        absl::NotFoundError("no instance 's'")}) {
    SCOPED_TRACE(failure.ToString());
    agent_ = FakeAgentClient();
    agent_.failures["Start"] = failure;
    absl::StatusOr<std::string> result = Run(ServerJob("start", id, "t"));
    EXPECT_EQ(result.status(), failure);
    agent_.failures = {{"Delete", failure}};
    EXPECT_EQ(Run(ServerJob("delete", id, "t")).status(), failure);
    // A failed delete keeps the server: the job is retried or shown as failed.
    EXPECT_TRUE(stores_->servers.Get(Actor::System(), id).ok());
  }
  // A failed overlay sync stops the start before the instance is touched.
  agent_ = FakeAgentClient();
  SetUp();
  const std::string fresh = NewServer("s", "running", true);
  agent_.failures["SyncOverlay"] = absl::UnavailableError("agent unreachable");
  EXPECT_TRUE(absl::IsUnavailable(Run(ServerJob("start", fresh, "t")).status()));
  EXPECT_THAT(agent_.calls,
              ElementsAre(absl::StrCat("SyncOverlay u-alice/maps j1:sync:", overlay_, ":1")));
}

TEST_F(JobKindsTest, AnUnreachableHostIsRetriedWithoutAnAgentCallAndTheServerStays) {
  const std::string id = NewServer("s", "running", true);
  ASSERT_TRUE(stores_->hosts.SetState(host_, "ready", "unreachable").ok());
  absl::StatusOr<std::string> result = Run(ServerJob("start", id, "t"));
  EXPECT_TRUE(absl::IsUnavailable(result.status())) << result.status();
  EXPECT_THAT(result.status().message(), HasSubstr("host 'h1' is unreachable"));
  EXPECT_THAT(agent_.calls, IsEmpty());
  EXPECT_EQ(stores_->servers.Get(Actor::System(), id)->host_id, host_);
}

TEST_F(JobKindsTest, ACancelledJobMakesNoAgentCall) {
  const std::string id = NewServer("s", "running", true);
  call_.cancelled = true;
  EXPECT_TRUE(absl::IsCancelled(Run(ServerJob("stop", id, "t")).status()));
  EXPECT_THAT(agent_.calls, IsEmpty());
}

TEST_F(JobKindsTest, DeletingAServerAlreadyForgottenSucceeds) {
  const std::string id = NewServer("s", "stopped", true);
  ASSERT_TRUE(Run(ServerJob("delete", id, "t")).ok());
  agent_.calls.clear();
  EXPECT_EQ(State(Run(ServerJob("delete", id, "t"))), "deleted");
  EXPECT_THAT(agent_.calls, IsEmpty());
}

TEST_F(JobKindsTest, ChangingTheBlueprintInitializesTheInstanceWithIt) {
  const std::string id = NewServer("s", "stopped", true);
  auto other = stores_->blueprints.Create(alice_, {.name = "versus"});
  ASSERT_TRUE(other.ok());
  ASSERT_TRUE(Run(ChangeBlueprintJob(id, other->id, "t")).ok());
  EXPECT_EQ(stores_->servers.Get(Actor::System(), id)->blueprint_id, other->id);
  EXPECT_THAT(agent_.calls, ElementsAre("Initialize s j1:init", "Get s"));
}

TEST_F(JobKindsTest, InstallRecordsTheBuildAndSyncRecordsTheVersion) {
  absl::StatusOr<std::string> installed = Run(HostInstallJob(host_, "t"));
  ASSERT_TRUE(installed.ok()) << installed.status();
  EXPECT_EQ(FromJson<v1::HostInstallResult>(*installed)->build_id(), "9000002");
  EXPECT_EQ(stores_->hosts.Get(host_)->installed_build, "9000002");
  EXPECT_THAT(call_.events, ElementsAre(R"(progress: {"fraction":1})"));
  absl::StatusOr<std::string> synced = Run(OverlaySyncJob(overlay_, host_, "t"));
  ASSERT_TRUE(synced.ok()) << synced.status();
  EXPECT_EQ(FromJson<v1::OverlaySyncJobResult>(*synced)->version(), "3");
  EXPECT_EQ(stores_->overlays.OnHost(overlay_, host_)->value().revision, 1);
  agent_.failures["Install"] = absl::AbortedError("operation aborted");
  EXPECT_TRUE(absl::IsAborted(Run(HostInstallJob(host_, "t")).status()));
}

TEST_F(JobKindsTest, UnknownKindsAndMissingObjectsAreRefused) {
  EXPECT_TRUE(absl::IsInvalidArgument(Run({.kind = "server.explode", .params = "{}"}).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(Run({.kind = "host.explode", .params = "{}"}).status()));
  EXPECT_TRUE(absl::IsNotFound(Run(ServerJob("start", "s-missing", "t")).status()));
  EXPECT_TRUE(absl::IsNotFound(Run(HostInstallJob("h-missing", "t")).status()));
  EXPECT_THAT(agent_.calls, IsEmpty());
}

}  // namespace
}  // namespace l4d2::controller
