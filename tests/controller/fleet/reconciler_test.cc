// The reconciler against the stores on SQLite and PostgreSQL, with a fake clock and fake agents'
// answers: servers that should run and do not are started with backoff and a limit, crash loops
// are shown and left alone, servers that should not run are stopped, silent hosts keep their
// servers' last state, and metric samples are taken and expire.

#include "controller/fleet/reconciler.h"

#include <map>

#include "controller/store/migrations.h"
#include "controller/store/users.h"
#include "gmock/gmock.h"
#include "tests/controller/store/backend_test.h"

namespace l4d2::controller {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

// Answers as the agents would: per host, the instances and their states.
class FakeLister final : public InstanceLister {
 public:
  std::map<std::string, std::map<std::string, agent::v1::InstanceState>> states;  // host, name
  std::set<std::string> silent;      // hosts that do not answer
  std::string failed_unit;           // an instance whose unit failed for good
  std::map<std::string, int> ports;  // instance name -> its spec's port
  int players = 2;
  // Instance name -> the build it runs; those whose game printed Steam's restart request.
  std::map<std::string, std::string> builds;
  std::set<std::string> restart_required;
  // Each answer's CPU time, memory and A2S latency differ from the last, as a running game's do.
  bool moving_figures = false;
  int answers_given = 0;

  std::vector<absl::StatusOr<agent::v1::ListInstancesResponse>> ListAll(
      const std::vector<Host>& hosts) override {
    std::vector<absl::StatusOr<agent::v1::ListInstancesResponse>> answers;
    ++answers_given;
    for (const Host& host : hosts) {
      if (silent.contains(host.id)) {
        answers.push_back(absl::DeadlineExceededError("deadline exceeded"));
        continue;
      }
      agent::v1::ListInstancesResponse response;
      for (const auto& [name, state] : states[host.id]) {
        agent::v1::Instance* instance = response.add_instances();
        instance->set_name(name);
        instance->mutable_status()->set_state(state);
        if (auto port = ports.find(name); port != ports.end()) {
          instance->mutable_spec()->set_port(port->second);
        }
        instance->mutable_status()->mutable_unit()->set_active_state(
            name == failed_unit ? "failed" : "active");
        instance->mutable_status()->mutable_unit()->set_memory_current_bytes(
            (300 << 20) + (moving_figures ? answers_given * 4096 : 0));
        instance->mutable_status()->mutable_game()->set_players(players);
        if (auto build = builds.find(name); build != builds.end()) {
          instance->set_build_id(build->second);
        }
        instance->mutable_status()->mutable_log()->set_restart_required(
            restart_required.contains(name));
        if (moving_figures) {
          instance->mutable_status()->mutable_unit()->mutable_cpu_usage()->set_seconds(
              answers_given);
          instance->mutable_status()->mutable_game()->mutable_latency()->set_nanos(answers_given *
                                                                                   1000000);
        }
      }
      answers.push_back(response);
    }
    return answers;
  }
};

class ReconcilerTest : public FleetBackendTest {
 protected:
  void SetUp() override {
    FleetBackendTest::SetUp();
    if (IsSkipped()) return;
    alice_ = NewUser("alice");
    auto created = stores_->hosts.Create({.name = "h1", .address = "127.0.0.1:1"}, absl::Hours(1));
    ASSERT_TRUE(created.ok());
    host_ = created->first.id;
    ASSERT_TRUE(stores_->hosts.RedeemEnrollmentToken(created->second).ok());
    ASSERT_TRUE(stores_->hosts.SetInstalledBuild(host_, "9000001").ok());
    BlueprintInput input{.name = "coop"};
    blueprint_ = stores_->blueprints.Create(alice_, input)->id;
    reconciler_ = std::make_unique<Reconciler>(
        *stores_, lister_,
        ReconcilerOptions{.restart_backoff = absl::Seconds(10), .max_restarts = 3});
  }

  // A server placed on the host, desired `desired`, reported in `state`.
  std::string Server(const std::string& name, DesiredState desired,
                     agent::v1::InstanceState state) {
    auto server = stores_->servers.Create(alice_, name, blueprint_, desired);
    EXPECT_TRUE(server.ok()) << server.status();
    EXPECT_TRUE(stores_->servers.Place(server->id, {}).ok());
    lister_.states[host_][name] = state;
    return server->id;
  }

  void TearDown() override {
    reconciler_.reset();  // It gives its lease up: before the database goes.
    BackendTest::TearDown();
  }

  ReconcileReport Round() {
    absl::StatusOr<ReconcileReport> report = reconciler_->Round();
    EXPECT_TRUE(report.ok()) << report.status();
    return report.ok() ? *report : ReconcileReport{};
  }

  // Ends every queued job, as a worker would.
  int FinishJobs() {
    int finished = 0;
    while (true) {
      absl::StatusOr<std::vector<Job>> jobs = stores_->jobs.Claim("test", 10, absl::Minutes(1));
      if (!jobs.ok() || jobs->empty()) return finished;
      for (const Job& job : *jobs) {
        EXPECT_TRUE(stores_->jobs.Complete(job.id, "test", "{}").ok());
        ++finished;
      }
    }
  }

  int Audited(const std::string& action) {
    int count = 0;
    absl::StatusOr<std::vector<AuditEntry>> entries = stores_->audit.Newest(1000);
    EXPECT_TRUE(entries.ok());
    for (const AuditEntry& entry : entries.value_or(std::vector<AuditEntry>())) {
      count += entry.action == action;
    }
    return count;
  }

  FakeLister lister_;
  std::unique_ptr<Reconciler> reconciler_;
  Actor alice_;
  std::string host_;
  std::string blueprint_;
};

TEST_P(ReconcilerTest, AServerThatShouldRunIsStartedWithBackoffThenGivenUpOn) {
  const std::string id = Server("s1", DesiredState::kRunning, agent::v1::INSTANCE_STATE_STOPPED);
  EXPECT_THAT(Round().started, ElementsAre(id));
  EXPECT_THAT(Round().started, IsEmpty());  // Its start is queued: nothing twice.
  EXPECT_EQ(FinishJobs(), 1);
  EXPECT_THAT(Round().started, IsEmpty());  // Still down, but within the backoff (10 s).
  clock_.Advance(absl::Seconds(11));
  EXPECT_THAT(Round().started, ElementsAre(id));
  EXPECT_EQ(FinishJobs(), 1);
  clock_.Advance(absl::Seconds(15));  // The second backoff is 20 s.
  EXPECT_THAT(Round().started, IsEmpty());
  clock_.Advance(absl::Seconds(10));
  EXPECT_THAT(Round().started, ElementsAre(id));
  EXPECT_EQ(FinishJobs(), 1);
  clock_.Advance(absl::Minutes(10));
  ReconcileReport report = Round();  // Three starts made: the limit.
  EXPECT_THAT(report.started, IsEmpty());
  EXPECT_THAT(report.gave_up, ElementsAre(id));
  clock_.Advance(absl::Minutes(10));
  EXPECT_THAT(Round().gave_up, IsEmpty());  // Said once.
  EXPECT_EQ(Audited("server.gave_up"), 1);
  EXPECT_EQ(Audited("server.start"), 3);

  // An operator's start clears the count; once it runs, the next crash starts afresh.
  ASSERT_TRUE(stores_->servers.SetDesired(id, DesiredState::kRunning).ok());
  EXPECT_THAT(Round().started, ElementsAre(id));
  EXPECT_EQ(FinishJobs(), 1);
  lister_.states[host_]["s1"] = agent::v1::INSTANCE_STATE_RUNNING;
  Round();
  EXPECT_EQ(stores_->servers.Get(alice_, id)->restart_attempts, 0);
}

TEST_P(ReconcilerTest, AReportFromBeforeAJobEndedDoesNotUndoIt) {
  reconciler_.reset();
  reconciler_ = std::make_unique<Reconciler>(
      *stores_, lister_, ReconcilerOptions{.observation_lag = absl::Seconds(6)});
  const std::string id = Server("s1", DesiredState::kStopped, agent::v1::INSTANCE_STATE_RUNNING);
  EXPECT_THAT(Round().stopped, ElementsAre(id));
  EXPECT_EQ(FinishJobs(), 1);
  // The stop ended 2 s ago; the host's latest report is older and still says running.
  clock_.Advance(absl::Seconds(2));
  EXPECT_THAT(Round().stopped, IsEmpty());
  // Past the lag, a report that still says running is believed.
  clock_.Advance(absl::Seconds(5));
  EXPECT_THAT(Round().stopped, ElementsAre(id));
}

TEST_P(ReconcilerTest, ACrashLoopIsShownAndAuditedOnceAndNotRestarted) {
  const std::string id = Server("s1", DesiredState::kRunning, agent::v1::INSTANCE_STATE_CRASH_LOOP);
  ReconcileReport report = Round();
  EXPECT_THAT(report.crash_loops, ElementsAre(id));
  EXPECT_THAT(report.started, IsEmpty());
  EXPECT_THAT(Round().crash_loops, IsEmpty());
  EXPECT_EQ(Audited("server.crash_loop"), 1);
  EXPECT_EQ(stores_->servers.Get(alice_, id)->actual_state, ServerState::kCrashLoop);
  EXPECT_EQ(FinishJobs(), 0);
}

// Game updates (docs/updates.md): each server's build is kept as its agent reports it; a game
// that prints Steam's restart request is audited once ("server.update_required", an alert) and
// a "game.check" queued, once while one is pending.
TEST_P(ReconcilerTest, BuildsAreKeptAndSteamsRestartRequestQueuesACheck) {
  const std::string a = Server("s1", DesiredState::kRunning, agent::v1::INSTANCE_STATE_RUNNING);
  const std::string b = Server("s2", DesiredState::kRunning, agent::v1::INSTANCE_STATE_RUNNING);
  lister_.builds = {{"s1", "9000001"}, {"s2", "9000001"}};
  EXPECT_THAT(Round().update_required, IsEmpty());
  EXPECT_EQ(stores_->servers.Get(alice_, a)->build, "9000001");
  lister_.restart_required = {"s1", "s2"};
  EXPECT_THAT(Round().update_required, ::testing::UnorderedElementsAre(a, b));
  EXPECT_THAT(Round().update_required, IsEmpty());  // once
  EXPECT_EQ(Audited("server.update_required"), 2);
  absl::StatusOr<std::vector<Job>> checks = stores_->jobs.List({.kind = "game.check"});
  ASSERT_TRUE(checks.ok());
  EXPECT_EQ(checks->size(), 1u);
  // The host installed the new build and s1 restarted onto it: s2 is the one behind.
  ASSERT_TRUE(stores_->hosts.SetInstalledBuild(host_, "9000002").ok());
  EXPECT_THAT(stores_->servers.BehindByHost().value(), ::testing::SizeIs(1));
  EXPECT_EQ(stores_->servers.BehindByHost()->at(host_), 2);
  lister_.restart_required = {"s2"};
  lister_.builds["s1"] = "9000002";
  Round();
  EXPECT_EQ(stores_->servers.Get(alice_, a)->build, "9000002");
  EXPECT_EQ(stores_->servers.BehindByHost()->at(host_), 1);
}

// Hang detection (issue Automation): a hung server is shown and audited once; restarted (a
// "server.restart" job, with the start backoff and limit) only when its blueprint says so.
TEST_P(ReconcilerTest, AHungServerIsAuditedOnceAndRestartedOnlyWhenItsBlueprintSaysSo) {
  const std::string kept = Server("kept", DesiredState::kRunning, agent::v1::INSTANCE_STATE_HUNG);
  BlueprintInput input{.name = "restarts"};
  input.settings.mutable_restart()->set_restart_when_hung(true);
  blueprint_ = stores_->blueprints.Create(alice_, input)->id;
  const std::string restarts =
      Server("restarts", DesiredState::kRunning, agent::v1::INSTANCE_STATE_HUNG);
  ReconcileReport report = Round();
  EXPECT_THAT(report.hung, ::testing::UnorderedElementsAre(kept, restarts));
  EXPECT_THAT(report.restarted, ElementsAre(restarts));
  EXPECT_THAT(report.started, IsEmpty());
  EXPECT_EQ(stores_->servers.Get(alice_, kept)->actual_state, ServerState::kHung);
  EXPECT_EQ(Audited("server.hung"), 2);
  EXPECT_EQ(Audited("server.restart"), 1);
  EXPECT_THAT(Round().hung, IsEmpty());  // said once
  EXPECT_EQ(FinishJobs(), 1);
  // Still hung after the restart: again after the backoff, never more than the limit.
  EXPECT_THAT(Round().restarted, IsEmpty());
  for (int i = 0; i < 5; ++i) {
    clock_.Advance(absl::Minutes(10));
    Round();
    FinishJobs();
  }
  EXPECT_EQ(Audited("server.restart"), 3);
  // A hung server that should not run is stopped.
  ASSERT_TRUE(stores_->servers.SetDesired(kept, DesiredState::kStopped).ok());
  EXPECT_THAT(Round().stopped, ElementsAre(kept));
}

TEST_P(ReconcilerTest, CrashedIsSystemdsToRestartUnlessTheUnitFailedForGood) {
  Server("restarting", DesiredState::kRunning, agent::v1::INSTANCE_STATE_CRASHED);
  const std::string dead =
      Server("dead", DesiredState::kRunning, agent::v1::INSTANCE_STATE_CRASHED);
  lister_.failed_unit = "dead";
  EXPECT_THAT(Round().started, ElementsAre(dead));
}

TEST_P(ReconcilerTest, AServerThatShouldNotRunIsStopped) {
  const std::string id = Server("s1", DesiredState::kStopped, agent::v1::INSTANCE_STATE_RUNNING);
  Server("s2", DesiredState::kStopped, agent::v1::INSTANCE_STATE_STOPPED);
  EXPECT_THAT(Round().stopped, ElementsAre(id));
  EXPECT_THAT(Round().stopped, IsEmpty());
  absl::StatusOr<Job> job = stores_->jobs.Claim("test", 1, absl::Minutes(1))->front();
  EXPECT_EQ(job->kind, "server.stop");
  EXPECT_EQ(job->created_by, "system");
}

TEST_P(ReconcilerTest, ASilentHostKeepsItsServersLastStateAndNothingIsStarted) {
  const std::string id = Server("s1", DesiredState::kRunning, agent::v1::INSTANCE_STATE_RUNNING);
  Round();
  lister_.silent.insert(host_);
  lister_.states[host_]["s1"] = agent::v1::INSTANCE_STATE_STOPPED;
  ReconcileReport report = Round();
  EXPECT_EQ(report.hosts_answered, 0);
  EXPECT_THAT(report.started, IsEmpty());
  EXPECT_EQ(stores_->servers.Get(alice_, id)->actual_state, ServerState::kRunning);
  // Back, and reconciled: the agent says it is stopped, so it is started where it is.
  lister_.silent.clear();
  EXPECT_THAT(Round().started, ElementsAre(id));
  absl::StatusOr<std::vector<Job>> jobs = stores_->jobs.Claim("test", 1, absl::Minutes(1));
  ASSERT_EQ(jobs->size(), 1u);
  EXPECT_EQ(jobs->front().lock_key, "server:" + id);
}

TEST_P(ReconcilerTest, RunningServersAreSampledAndOldSamplesAreRolledUpThenExpire) {
  const std::string id = Server("s1", DesiredState::kRunning, agent::v1::INSTANCE_STATE_RUNNING);
  Server("s2", DesiredState::kStopped, agent::v1::INSTANCE_STATE_STOPPED);
  Round();
  clock_.Advance(absl::Hours(24) + absl::Minutes(1));
  Round();  // Samples older than their retention (a day) go, rolled into a minute's point.
  absl::StatusOr<std::optional<MetricSample>> latest = stores_->metrics.Latest(id);
  ASSERT_TRUE(latest.ok());
  ASSERT_TRUE(latest->has_value());
  EXPECT_EQ((*latest)->players, 2);
  EXPECT_EQ((*latest)->memory_bytes, 300 << 20);
  EXPECT_EQ((*latest)->at, clock_.Now());
  EXPECT_EQ(Count("metric_samples"), 1);
  EXPECT_EQ(Count("metric_rollups"), 2);  // The first round's minute and its ten minutes
}

// Rows change when state changes: the live figures of a running server go to its samples.
TEST_P(ReconcilerTest, LiveFiguresGoToSamplesAndLeaveTheRowAlone) {
  const std::string id = Server("s1", DesiredState::kRunning, agent::v1::INSTANCE_STATE_RUNNING);
  lister_.moving_figures = true;
  Round();
  const ::l4d2::controller::Server first = *stores_->servers.Get(alice_, id);
  for (int i = 0; i < 3; ++i) {
    clock_.Advance(absl::Seconds(10));
    Round();
  }
  const ::l4d2::controller::Server later = *stores_->servers.Get(alice_, id);
  EXPECT_EQ(later.revision, first.revision);
  EXPECT_EQ(later.status_at, first.status_at);
  EXPECT_EQ(later.status, first.status);
  EXPECT_THAT(later.status, Not(HasSubstr("memory")));
  EXPECT_EQ(Count("metric_samples"), 4);
  absl::StatusOr<std::optional<MetricSample>> latest = stores_->metrics.Latest(id);
  ASSERT_TRUE(latest.ok() && latest->has_value());
  EXPECT_EQ((*latest)->cpu_millis, lister_.answers_given * 1000);
  EXPECT_EQ((*latest)->memory_bytes, (300 << 20) + lister_.answers_given * 4096);
  EXPECT_EQ((*latest)->latency, absl::Milliseconds(lister_.answers_given));
  // A player joining is a change of the row.
  lister_.players = 3;
  clock_.Advance(absl::Seconds(10));
  Round();
  const ::l4d2::controller::Server joined = *stores_->servers.Get(alice_, id);
  EXPECT_EQ(joined.revision, first.revision + 1);
  EXPECT_EQ(joined.players, 3);
  EXPECT_EQ(joined.status_at, clock_.Now());
}

TEST_P(ReconcilerTest, OneControllerReconcilesAtATimeAndAnotherTakesOverWhenItStops) {
  const std::string id = Server("s1", DesiredState::kRunning, agent::v1::INSTANCE_STATE_STOPPED);
  Reconciler other(*stores_, lister_,
                   ReconcilerOptions{.owner = "other", .interval = absl::Seconds(10)});
  ReconcileReport first = Round();  // Takes the lease ("controller").
  EXPECT_TRUE(first.leader);
  EXPECT_THAT(first.started, ElementsAre(id));
  EXPECT_EQ(FinishJobs(), 1);
  clock_.Advance(absl::Minutes(1));  // The server's backoff is over; the lease (30 s) too.
  EXPECT_TRUE(Round().leader);       // Renewed by its holder before another asked.
  EXPECT_EQ(FinishJobs(), 1);
  clock_.Advance(absl::Seconds(20));
  absl::StatusOr<ReconcileReport> second = other.Round();
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_FALSE(second->leader);  // Held for 30 s from the last round, 20 s ago.
  EXPECT_THAT(second->started, IsEmpty());
  EXPECT_EQ(FinishJobs(), 0);
  // The holder stops and gives the lease up: the other takes over at once.
  reconciler_->Stop();
  second = other.Round();
  ASSERT_TRUE(second.ok());
  EXPECT_TRUE(second->leader);
  EXPECT_FALSE(Round().leader);
  // A holder that dies is replaced once its lease expires.
  clock_.Advance(absl::Seconds(31));
  EXPECT_TRUE(Round().leader);
}

TEST_P(ReconcilerTest, LeasesAreHeldByOneOwnerAndReleasedOnlyByIt) {
  LeaseStore& leases = stores_->leases;
  EXPECT_TRUE(*leases.TryAcquire("x", "a", absl::Seconds(30)));
  EXPECT_FALSE(*leases.TryAcquire("x", "b", absl::Seconds(30)));
  EXPECT_TRUE(*leases.TryAcquire("y", "b", absl::Seconds(30)));  // Another name.
  ASSERT_TRUE(leases.Release("x", "b").ok());                    // Not b's: nothing happens.
  EXPECT_FALSE(*leases.TryAcquire("x", "b", absl::Seconds(30)));
  clock_.Advance(absl::Seconds(29));
  EXPECT_TRUE(*leases.TryAcquire("x", "a", absl::Seconds(30)));  // Renewed.
  clock_.Advance(absl::Seconds(29));
  EXPECT_FALSE(*leases.TryAcquire("x", "b", absl::Seconds(30)));
  clock_.Advance(absl::Seconds(2));
  EXPECT_TRUE(*leases.TryAcquire("x", "b", absl::Seconds(30)));  // Expired: taken over.
  EXPECT_FALSE(*leases.TryAcquire("x", "a", absl::Seconds(30)));
}

// Instances on a host that no server names (made on the agent directly) are kept as the host's
// unmanaged ones, on hosts with servers and without, and leave the list when they go.
TEST_P(ReconcilerTest, InstancesNoServerNamesAreListedAsUnmanaged) {
  Server("s1", DesiredState::kRunning, agent::v1::INSTANCE_STATE_RUNNING);
  lister_.states[host_]["by-hand"] = agent::v1::INSTANCE_STATE_STOPPED;
  lister_.ports["by-hand"] = 27100;
  auto other = stores_->hosts.Create({.name = "h2", .address = "127.0.0.1:2"}, absl::Hours(1));
  ASSERT_TRUE(other.ok());
  ASSERT_TRUE(stores_->hosts.RedeemEnrollmentToken(other->second).ok());
  const std::string empty_host = other->first.id;
  lister_.states[empty_host]["lone"] = agent::v1::INSTANCE_STATE_RUNNING;
  Round();
  EXPECT_THAT(stores_->hosts.Get(host_)->unmanaged,
              ElementsAre(UnmanagedInstance{.name = "by-hand", .port = 27100, .state = "stopped"}));
  EXPECT_THAT(stores_->hosts.Get(empty_host)->unmanaged,
              ElementsAre(UnmanagedInstance{.name = "lone", .port = 0, .state = "running"}));
  lister_.states[host_].erase("by-hand");
  Round();
  EXPECT_THAT(stores_->hosts.Get(host_)->unmanaged, IsEmpty());
  // A silent host keeps what was last seen.
  lister_.silent.insert(empty_host);
  Round();
  EXPECT_EQ(stores_->hosts.Get(empty_host)->unmanaged.size(), 1u);
}

L4D2_INSTANTIATE_BACKEND_TEST(ReconcilerTest);

}  // namespace
}  // namespace l4d2::controller
