// A schedule's run (controller/jobs/schedule_run.h) through the real job queue on SQLite and
// PostgreSQL, against a fake agent: a warning, a wait and a restart, one step per claim and a
// park between them (no attempt used, no worker held), servers with players left out when the
// schedule says so, the step's own jobs awaited, failures, a cancellation while parked, and a
// run picked up by another controller (after a clean park, or after its controller died
// mid-step) going on from where it was with the same operation ids.

#include "controller/jobs/schedule_run.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "controller/jobs/job_kinds.h"
#include "controller/usecases/schedules.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "l4d2/controller/v1/jobs.pb.h"
#include "rpc/proto_json.h"
#include "tests/controller/jobs/fake_agent_client.h"
#include "tests/controller/store/backend_test.h"

namespace l4d2::controller {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr absl::Duration kLease = absl::Seconds(30);

class ScheduleRunTest : public FleetBackendTest {
 protected:
  void SetUp() override {
    FleetBackendTest::SetUp();
    if (IsSkipped()) return;
    alice_ = NewUser("alice");
    auto host = stores_->hosts.Create({.name = "h1", .address = "127.0.0.1:1"}, absl::Hours(1));
    ASSERT_TRUE(host.ok());
    host_ = host->first.id;
    ASSERT_TRUE(stores_->hosts.RedeemEnrollmentToken(host->second).ok());
    ASSERT_TRUE(stores_->hosts.SetInstalledBuild(host_, "9000001").ok());
    auto blueprint = stores_->blueprints.Create(alice_, {.name = "versus"});
    ASSERT_TRUE(blueprint.ok()) << blueprint.status();
    blueprint_ = blueprint->id;
    std::vector<InstanceObservation> observed;
    for (const char* name : {"a", "b", "c"}) {
      auto server = stores_->servers.Create(alice_, name, blueprint_, DesiredState::kRunning);
      ASSERT_TRUE(server.ok());
      ASSERT_TRUE(stores_->servers.Place(server->id, {}).ok());
      ids_[name] = server->id;
      observed.push_back({.name = name,
                          .state = ServerState::kRunning,
                          .status = "{}",
                          .players = std::string(name) == "c" ? 2 : 0});
    }
    ASSERT_TRUE(stores_->servers.ObserveHost(host_, observed).ok());
  }

  // A schedule of alice's over her blueprint: a warning, a wait and a restart.
  std::string NewSchedule(bool only_when_empty, bool continue_on_failure) {
    v1::ScheduleDefinition definition;
    EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(
                    R"({"cron": "0 4 * * *", "target": {"kind": "blueprint", "id": ")" +
                        blueprint_ + R"("}, "steps": [{"command": "say Restart in 5 minutes"},
                        {"wait": "300s"}, {"action": "restart"}]})",
                    &definition)
                    .ok());
    definition.set_only_when_empty(only_when_empty);
    definition.set_continue_on_failure(continue_on_failure);
    absl::StatusOr<Schedule> schedule = CreateSchedule(
        *stores_, alice_, {.name = "nightly", .definition = definition, .enabled = false});
    EXPECT_TRUE(schedule.ok()) << schedule.status();
    return schedule->id;
  }

  // One pass of a controller `owner`: claims what is due and runs it. A schedule run does its
  // step and parks (or ends); the server jobs it queued end as `servers_end` says (the fake
  // agent's work is job_kinds_test's). Returns the schedule runs' outcomes.
  std::vector<absl::StatusOr<JobOutcome>> Pass(const std::string& owner = "controller-a",
                                               bool servers_fail = false) {
    std::vector<absl::StatusOr<JobOutcome>> outcomes;
    absl::StatusOr<std::vector<Job>> claimed = stores_->jobs.Claim(owner, 50, kLease);
    EXPECT_TRUE(claimed.ok()) << claimed.status();
    for (const Job& job : *claimed) {
      JobEnding ending{.id = job.id, .owner = owner, .not_before = clock_.Now()};
      if (job.kind == "schedule.run") {
        absl::StatusOr<JobOutcome> outcome =
            RunJob({.stores = *stores_, .agents = agent_, .placement = {}}, job, call_);
        if (outcome.ok() && outcome->park_until) {
          ending.state = JobState::kQueued;
          ending.park = true;
          ending.not_before = *outcome->park_until;
          ending.result = outcome->result;
        } else if (outcome.ok()) {
          ending.result = outcome->result;
        } else {
          ending.state = JobState::kFailed;
          ending.error = outcome.status();
        }
        outcomes.push_back(std::move(outcome));
      } else if (servers_fail) {
        ending.state = JobState::kFailed;
        ending.error = absl::UnavailableError("host h1 is unreachable");
      }
      absl::StatusOr<std::vector<absl::Status>> written = stores_->jobs.Write({}, {ending});
      EXPECT_TRUE(written.ok() && (*written)[0].ok()) << job.id;
    }
    return outcomes;
  }

  Job RunJobRow() {
    absl::StatusOr<std::vector<Job>> runs = stores_->jobs.List({.kind = "schedule.run"});
    EXPECT_TRUE(runs.ok() && runs->size() == 1);
    return runs->front();
  }

  std::vector<std::string> Restarts() {
    std::vector<std::string> servers;
    absl::StatusOr<std::vector<Job>> jobs = stores_->jobs.List({.kind = "server.restart"});
    EXPECT_TRUE(jobs.ok()) << jobs.status();
    for (const Job& job : *jobs) {
      servers.push_back(FromJson<v1::ServerJobParams>(job.params)->server_id());
    }
    std::sort(servers.begin(), servers.end());
    return servers;
  }

  Actor alice_;
  std::string host_, blueprint_;
  std::map<std::string, std::string> ids_;
  FakeAgentClient agent_;
  FakeAgentCall call_;
};

TEST_P(ScheduleRunTest, AWarningAWaitAndARestartOneStepPerClaimLeavingOutServersWithPlayers) {
  const std::string schedule = NewSchedule(/*only_when_empty=*/true, false);
  absl::StatusOr<std::string> job = RunScheduleNow(*stores_, alice_, schedule);
  ASSERT_TRUE(job.ok()) << job.status();

  // Claim 1: the servers (c has two players: left out), the warning to a and b, parked.
  auto outcomes = Pass();
  ASSERT_EQ(outcomes.size(), 1u);
  ASSERT_TRUE(outcomes[0].ok()) << outcomes[0].status();
  EXPECT_EQ(outcomes[0]->park_until, clock_.Now());
  EXPECT_THAT(agent_.calls, ElementsAre(absl::StrCat("Console a ", *job, ":0:", ids_["a"]),
                                        absl::StrCat("Console b ", *job, ":0:", ids_["b"])));
  EXPECT_THAT(call_.events, Contains("step: 2 server(s): a, b; left out, players on: c"));
  EXPECT_EQ(RunJobRow().state, JobState::kQueued);
  EXPECT_EQ(RunJobRow().attempt, 0);  // a park is not an attempt

  // Claim 2: the wait parks it five minutes; nothing is due before.
  outcomes = Pass();
  ASSERT_EQ(outcomes.size(), 1u);
  EXPECT_EQ(outcomes[0]->park_until, clock_.Now() + absl::Minutes(5));
  clock_.Advance(absl::Minutes(4));
  EXPECT_THAT(Pass(), IsEmpty());
  EXPECT_THAT(Restarts(), IsEmpty());

  // Claim 3: the restart step queues a server job for a and b, and waits for them.
  clock_.Advance(absl::Minutes(1));
  outcomes = Pass();
  ASSERT_EQ(outcomes.size(), 1u);
  EXPECT_THAT(Restarts(),
              ElementsAre(std::min(ids_["a"], ids_["b"]), std::max(ids_["a"], ids_["b"])));
  // Claim 4: the restarts are claimed beside it (and end after it looked): parked again.
  clock_.Advance(absl::Seconds(2));
  outcomes = Pass();
  ASSERT_EQ(outcomes.size(), 1u);
  EXPECT_TRUE(outcomes[0]->park_until.has_value());
  // Claim 5: they succeeded; the run ends with its result.
  clock_.Advance(absl::Seconds(2));
  outcomes = Pass();
  ASSERT_EQ(outcomes.size(), 1u);
  ASSERT_TRUE(outcomes[0].ok());
  EXPECT_FALSE(outcomes[0]->park_until.has_value());
  auto result = FromJson<v1::ScheduleRunResult>(outcomes[0]->result);
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->steps(), 3);
  EXPECT_EQ(result->servers(), 2);
  EXPECT_THAT(result->skipped(), ElementsAre("c"));
  EXPECT_EQ(result->failures(), 0);
  EXPECT_EQ(RunJobRow().state, JobState::kSucceeded);
  EXPECT_EQ(agent_.calls.size(), 2u);  // the warning, once per server
}

TEST_P(ScheduleRunTest, AFailedStepEndsTheRunNamingWhatFailed) {
  const std::string schedule = NewSchedule(false, /*continue_on_failure=*/false);
  // The warning fails on every server (the agent cannot be reached).
  agent_.failures["Console"] = absl::UnavailableError("connection refused");
  ASSERT_TRUE(RunScheduleNow(*stores_, alice_, schedule).ok());
  auto outcomes = Pass();
  ASSERT_EQ(outcomes.size(), 1u);
  ASSERT_FALSE(outcomes[0].ok());
  EXPECT_THAT(outcomes[0].status().message(),
              HasSubstr("step 1 (command \"say Restart in 5 minutes\") failed for 3: a ("));
  EXPECT_EQ(RunJobRow().state, JobState::kFailed);
  EXPECT_THAT(Restarts(), IsEmpty());
}

TEST_P(ScheduleRunTest, AFailedStepIsCountedAndTheRunGoesOnWhenToldTo) {
  const std::string schedule = NewSchedule(false, /*continue_on_failure=*/true);
  agent_.failures["Console"] = absl::UnavailableError("connection refused");
  ASSERT_TRUE(RunScheduleNow(*stores_, alice_, schedule).ok());
  ASSERT_TRUE(Pass()[0].ok());  // the warning, failed for all three
  ASSERT_TRUE(Pass()[0].ok());  // the wait
  clock_.Advance(absl::Minutes(5));
  ASSERT_TRUE(Pass()[0].ok());  // the restarts queued
  clock_.Advance(absl::Seconds(2));
  ASSERT_TRUE(Pass("controller-a", /*servers_fail=*/true)[0].ok());  // and they fail
  clock_.Advance(absl::Seconds(2));
  auto outcomes = Pass();
  ASSERT_EQ(outcomes.size(), 1u);
  ASSERT_TRUE(outcomes[0].ok()) << outcomes[0].status();
  EXPECT_FALSE(outcomes[0]->park_until.has_value());
  EXPECT_EQ(FromJson<v1::ScheduleRunResult>(outcomes[0]->result)->failures(), 6);
  EXPECT_THAT(call_.events, Contains(HasSubstr("server.restart")));
  EXPECT_EQ(RunJobRow().state, JobState::kSucceeded);
}

TEST_P(ScheduleRunTest, ARunCancelledWhileItRunsEndsCancelledAtItsPark) {
  const std::string schedule = NewSchedule(false, false);
  absl::StatusOr<std::string> job = RunScheduleNow(*stores_, alice_, schedule);
  absl::StatusOr<std::vector<Job>> claimed = stores_->jobs.Claim("controller-a", 1, kLease);
  ASSERT_TRUE(claimed.ok() && claimed->size() == 1);
  ASSERT_TRUE(stores_->jobs.Cancel(*job).ok());  // asked while it runs its step
  absl::StatusOr<JobOutcome> outcome =
      RunJob({.stores = *stores_, .agents = agent_, .placement = {}}, claimed->front(), call_);
  ASSERT_TRUE(outcome.ok() && outcome->park_until);
  ASSERT_TRUE(stores_->jobs
                  .Write({}, {{.id = *job,
                               .owner = "controller-a",
                               .state = JobState::kQueued,
                               .result = outcome->result,
                               .not_before = *outcome->park_until,
                               .park = true}})
                  .ok());
  EXPECT_EQ(RunJobRow().state, JobState::kCancelled);
  clock_.Advance(absl::Hours(1));
  EXPECT_THAT(Pass(), IsEmpty());
}

TEST_P(ScheduleRunTest, AnotherControllerGoesOnFromTheLastStepNeverFromTheStart) {
  const std::string schedule = NewSchedule(false, false);
  absl::StatusOr<std::string> job = RunScheduleNow(*stores_, alice_, schedule);
  // Controller A does the warning and parks; controller B does the wait.
  ASSERT_EQ(Pass("controller-a").size(), 1u);
  ASSERT_EQ(Pass("controller-b").size(), 1u);
  EXPECT_EQ(agent_.calls.size(), 3u);
  // Controller B claims the restart step and dies in it, after queueing the restarts: its
  // lease lapses and A picks the run up where B recorded it (its restarts queued once).
  clock_.Advance(absl::Minutes(5));
  absl::StatusOr<std::vector<Job>> claimed = stores_->jobs.Claim("controller-b", 1, kLease);
  ASSERT_TRUE(claimed.ok() && claimed->size() == 1);
  absl::StatusOr<JobOutcome> dying =
      RunJob({.stores = *stores_, .agents = agent_, .placement = {}}, claimed->front(), call_);
  ASSERT_TRUE(dying.ok());
  EXPECT_EQ(Restarts().size(), 3u);
  clock_.Advance(kLease + absl::Seconds(1));
  auto outcomes = Pass("controller-a");  // the run and the three restarts
  ASSERT_EQ(outcomes.size(), 1u);
  EXPECT_EQ(Restarts().size(), 3u);  // not queued again
  clock_.Advance(absl::Seconds(2));
  outcomes = Pass("controller-a");
  ASSERT_EQ(outcomes.size(), 1u);
  ASSERT_TRUE(outcomes[0].ok()) << outcomes[0].status();
  EXPECT_FALSE(outcomes[0]->park_until.has_value());
  EXPECT_EQ(RunJobRow().state, JobState::kSucceeded);
  // The warning went out once per server, whoever ran what.
  EXPECT_EQ(agent_.calls.size(), 3u);
  int resolved = 0;
  for (const std::string& event : call_.events) {
    resolved += absl::StrContains(event, "3 server(s): a, b, c");
  }
  EXPECT_EQ(resolved, 1);
}

L4D2_INSTANTIATE_BACKEND_TEST(ScheduleRunTest);

}  // namespace
}  // namespace l4d2::controller
