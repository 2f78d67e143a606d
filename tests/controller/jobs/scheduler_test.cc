// The scheduler against a real agent (the l4d2-agent program with the fake steamcmd) over gRPC,
// with the queue on SQLite: jobs run, fail with the agent's message, and survive the controller
// going away mid-job without running a step twice.

#include "controller/jobs/scheduler.h"

#include <fstream>
#include <regex>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/clock.h"
#include "controller/store/migrations.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/agent_binary.h"
#include "tests/testing/child_process.h"
#include "tests/testing/eventually.h"
#include "tests/testing/temp_dir.h"

namespace l4d2::controller {
namespace {

using ::l4d2::testing::ChildProcess;
using ::l4d2::testing::Eventually;
using ::l4d2::testing::TempDir;
using ::l4d2::testing::WithBuiltHelpers;
using ::testing::HasSubstr;

class SchedulerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::filesystem::create_directories(dir_.Sub("home/.fake-steamcmd"));
    absl::StatusOr<std::unique_ptr<ChildProcess>> agent = ChildProcess::Start(
        {.argv =
             WithBuiltHelpers({L4D2_AGENT_BINARY, "--root", dir_.Sub("root"), "--listen_tcp",
                               "127.0.0.1:0", "--plaintext_tcp", "--listen_unix", "none",
                               "--steamcmd", L4D2_FAKE_STEAMCMD, "--unit_dir", dir_.Sub("units")}),
         .env = {{"HOME", dir_.Sub("home")}}});
    ASSERT_TRUE(agent.ok());
    agent_ = *std::move(agent);
    ASSERT_TRUE(agent_->WaitForOutput("serving root")) << agent_->Output();
    std::smatch match;
    const std::string output = agent_->Output();
    ASSERT_TRUE(std::regex_search(output, match, std::regex(R"(\(port ([0-9]+)\))")));

    absl::StatusOr<std::unique_ptr<Database>> db =
        Database::Open({.url = "sqlite3:" + dir_.Sub("controller.db")});
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = *std::move(db);
    ASSERT_TRUE(ApplyMigrations(*db_, ControllerMigrations(), Clock::Real()).ok());
    stores_ = std::make_unique<FleetStores>(*db_, Clock::Real());
    auto host =
        hosts().Create({.name = "local", .address = "127.0.0.1:" + match[1].str()}, absl::Hours(1));
    ASSERT_TRUE(host.ok()) << host.status();
    host_id_ = host->first.id;
  }

  JobQueue& queue() { return stores_->jobs; }
  HostStore& hosts() { return stores_->hosts; }

  void FakeSteamcmd(const std::string& setting, const std::string& value) {
    std::ofstream(dir_.Sub("home/.fake-steamcmd/" + setting)) << value;
  }

  std::unique_ptr<Scheduler> NewScheduler(const std::string& owner, absl::Duration lease) {
    return std::make_unique<Scheduler>(
        *stores_, agents_,
        SchedulerOptions{
            .owner = owner, .workers = 2, .lease = lease, .poll = absl::Milliseconds(20)});
  }

  Job WaitUntilEnded(const std::string& id, absl::Duration timeout = absl::Seconds(30)) {
    Job job;
    EXPECT_TRUE(Eventually(
        [&] {
          job = *queue().Get(id);
          return job.state != JobState::kQueued && job.state != JobState::kRunning;
        },
        timeout))
        << JobStateName(job.state);
    return job;
  }

  TempDir dir_;
  std::unique_ptr<ChildProcess> agent_;
  std::unique_ptr<Database> db_;
  // Made once the database is open.
  std::unique_ptr<FleetStores> stores_;
  PlaintextAgentConnector agents_;
  std::string host_id_;
};

TEST_F(SchedulerTest, AnInstallJobRunsOnTheAgentAndRecordsTheBuild) {
  absl::StatusOr<std::string> id = queue().Enqueue(HostInstallJob(host_id_, "u1"));
  ASSERT_TRUE(id.ok());
  auto scheduler = NewScheduler("c1", absl::Seconds(30));
  scheduler->Start();
  Job job = WaitUntilEnded(*id);
  ASSERT_EQ(job.state, JobState::kSucceeded) << job.error;
  EXPECT_THAT(job.result, HasSubstr(R"("buildId":"9000001")"));
  EXPECT_EQ(hosts().Get(host_id_)->installed_build, "9000001");
  absl::StatusOr<std::vector<JobEvent>> events = queue().Events(*id, 0, 1000);
  ASSERT_TRUE(events.ok());
  EXPECT_THAT(*events, ::testing::Contains(::testing::Field(&JobEvent::kind, "progress")));
  EXPECT_THAT(agent_->Output(), HasSubstr(absl::StrCat("install '", *id, ":install' started")));
}

TEST_F(SchedulerTest, SteamcmdsFailureFailsTheJobWithItsMessageWithoutRetrying) {
  FakeSteamcmd("fail", "No subscription");
  absl::StatusOr<std::string> id = queue().Enqueue(HostInstallJob(host_id_, "u1"));
  auto scheduler = NewScheduler("c1", absl::Seconds(30));
  scheduler->Start();
  Job job = WaitUntilEnded(*id);
  EXPECT_EQ(job.state, JobState::kFailed);
  EXPECT_THAT(job.error.message(), HasSubstr("No subscription"));
  EXPECT_EQ(job.attempt, 1);
}

TEST_F(SchedulerTest, AnUnreachableAgentIsRetriedThenTheJobFails) {
  auto unreachable = hosts().Create({.name = "gone", .address = "127.0.0.1:1"}, absl::Hours(1));
  NewJob install = HostInstallJob(unreachable->first.id, "u1");
  install.max_attempts = 2;
  absl::StatusOr<std::string> id = queue().Enqueue(install);
  auto scheduler = NewScheduler("c1", absl::Seconds(30));
  scheduler->Start();
  Job job = WaitUntilEnded(*id);
  EXPECT_EQ(job.state, JobState::kFailed);
  EXPECT_EQ(job.attempt, 2);
  EXPECT_EQ(job.error.code(), absl::StatusCode::kUnavailable);
}

TEST_F(SchedulerTest, AControllerStoppingMidJobLeavesItToTheNextWithoutASecondInstall) {
  FakeSteamcmd("progress_ms", "150");  // A slow install: stopped half-way through.
  absl::StatusOr<std::string> id = queue().Enqueue(HostInstallJob(host_id_, "u1"));
  auto first = NewScheduler("c1", absl::Seconds(30));
  first->Start();
  ASSERT_TRUE(Eventually([&] { return !queue().Events(*id, 0, 10)->empty(); }));
  first->Stop();  // The agent's install goes on without anyone listening.
  EXPECT_EQ(queue().Get(*id)->state, JobState::kQueued);
  auto second = NewScheduler("c2", absl::Seconds(30));
  second->Start();
  Job job = WaitUntilEnded(*id);
  ASSERT_EQ(job.state, JobState::kSucceeded) << job.error;
  EXPECT_EQ(job.attempt, 2);
  // The second run re-attached to the agent's operation: one install started, not two.
  const std::string output = agent_->Output();
  const std::string started = absl::StrCat("install '", *id, ":install' started");
  EXPECT_EQ(output.find(started), output.rfind(started)) << output;
}

TEST_F(SchedulerTest, ACancelledJobStopsItsAgentCall) {
  FakeSteamcmd("hang", "1");
  absl::StatusOr<std::string> id = queue().Enqueue(HostInstallJob(host_id_, "u1"));
  auto scheduler = NewScheduler("c1", absl::Milliseconds(600));
  scheduler->Start();
  ASSERT_TRUE(Eventually([&] { return queue().Get(*id)->state == JobState::kRunning; }));
  ASSERT_TRUE(queue().Cancel(*id).ok());
  Job job = WaitUntilEnded(*id);
  EXPECT_EQ(job.state, JobState::kCancelled);
}

}  // namespace
}  // namespace l4d2::controller
