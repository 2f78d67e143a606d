#include "agent/operations/operation_registry.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <atomic>
#include <filesystem>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/fakes/fake_clock.h"
#include "tests/testing/temp_dir.h"

namespace l4d2::agent {
namespace {

using ::l4d2::testing::FakeClock;
using ::l4d2::testing::TempDir;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using State = OperationRegistry::ClaimState;

OperationRequest Request(const std::string& id, const std::string& lock = "instance/s1",
                         const std::string& fingerprint = "start s1") {
  return {.id = id,
          .kind = v1::OPERATION_KIND_START,
          .target = "s1",
          .lock = lock,
          .fingerprint = fingerprint};
}

class OperationRegistryTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(registry_.Load().ok()); }
  TempDir dir_;
  FakeClock clock_;
  OperationRegistry registry_{dir_.Sub("ops"), clock_};
};

TEST_F(OperationRegistryTest, ARepeatedIdAttachesWhileRunningAndReplaysWhenFinished) {
  auto first = registry_.Claim(Request("op-1"));
  ASSERT_TRUE(first.ok());
  ASSERT_EQ(first->state, State::kNew);
  first->run->Publish("event-1");

  auto attached = registry_.Claim(Request("op-1"));
  ASSERT_TRUE(attached.ok());
  EXPECT_EQ(attached->state, State::kRunning);
  EXPECT_EQ(attached->run, first->run);
  EXPECT_THAT(attached->run->ReadFrom(0).events, ElementsAre("event-1"));

  ASSERT_TRUE(registry_.Finish(first->run, absl::OkStatus(), "the-result").ok());
  auto finished = registry_.Claim(Request("op-1"));
  ASSERT_TRUE(finished.ok());
  ASSERT_EQ(finished->state, State::kFinished);
  EXPECT_EQ(finished->record.result(), "the-result");
  EXPECT_EQ(finished->record.operation().state(), v1::OPERATION_STATE_SUCCEEDED);
}

TEST_F(OperationRegistryTest, RecordsSurviveARestartFailuresIncluded) {
  auto claim = registry_.Claim(Request("op-2"));
  ASSERT_TRUE(
      registry_.Finish(claim->run, absl::FailedPreconditionError("not installed"), "").ok());
  OperationRegistry restarted(dir_.Sub("ops"), clock_);
  ASSERT_TRUE(restarted.Load().ok());
  auto again = restarted.Claim(Request("op-2"));
  ASSERT_TRUE(again.ok());
  ASSERT_EQ(again->state, State::kFinished);
  EXPECT_EQ(again->record.operation().error_code(),
            static_cast<int>(absl::StatusCode::kFailedPrecondition));
  EXPECT_EQ(again->record.operation().error_message(), "not installed");
  absl::StatusOr<v1::Operation> got = restarted.Get("op-2");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->state(), v1::OPERATION_STATE_FAILED);
}

// Records past the retention (a week) go while the agent runs, not only at its start: as
// operations finish, at most once an hour.
TEST_F(OperationRegistryTest, OldRecordsArePrunedWhileTheAgentRuns) {
  auto old = registry_.Claim(Request("op-old", "instance/a"));
  ASSERT_TRUE(registry_.Finish(old->run, absl::OkStatus(), "").ok());
  // Written eight days ago (by the fake clock).
  const std::string path = dir_.Sub("ops/op-old.binpb");
  const timespec eight_days_ago{.tv_sec = absl::ToTimeT(clock_.Now() - absl::Hours(24 * 8)),
                                .tv_nsec = 0};
  const timespec times[2] = {eight_days_ago, eight_days_ago};
  ASSERT_EQ(utimensat(AT_FDCWD, path.c_str(), times, 0), 0);
  // Within the hour of the last pass: kept.
  auto soon = registry_.Claim(Request("op-soon", "instance/b"));
  ASSERT_TRUE(registry_.Finish(soon->run, absl::OkStatus(), "").ok());
  EXPECT_TRUE(std::filesystem::exists(path));
  clock_.Advance(OperationRegistry::kPruneInterval);
  auto later = registry_.Claim(Request("op-later", "instance/c"));
  ASSERT_TRUE(registry_.Finish(later->run, absl::OkStatus(), "").ok());
  EXPECT_FALSE(std::filesystem::exists(path));
  EXPECT_EQ(registry_.Get("op-old").status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(registry_.Get("op-soon").ok());
  EXPECT_TRUE(registry_.Get("op-later").ok());
}

TEST_F(OperationRegistryTest, AConflictingOperationIsAbortedAtOnce) {
  auto first = registry_.Claim(Request("op-a"));
  ASSERT_TRUE(first.ok());
  auto second = registry_.Claim(Request("op-b", "instance/s1", "stop s1"));
  EXPECT_EQ(second.status().code(), absl::StatusCode::kAborted);
  EXPECT_THAT(second.status().message(), HasSubstr("op-a"));
  // Another target is free.
  EXPECT_TRUE(registry_.Claim(Request("op-c", "instance/s2")).ok());
  ASSERT_TRUE(registry_.Finish(first->run, absl::OkStatus(), "").ok());
  EXPECT_EQ(registry_.Claim(Request("op-b", "instance/s1", "stop s1"))->state, State::kNew);
}

TEST_F(OperationRegistryTest, AnIdReusedForAnotherRequestIsRefused) {
  auto first = registry_.Claim(Request("op-x"));
  EXPECT_EQ(registry_.Claim(Request("op-x", "instance/s1", "delete s1")).status().code(),
            absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE(registry_.Finish(first->run, absl::OkStatus(), "").ok());
  EXPECT_EQ(registry_.Claim(Request("op-x", "instance/s1", "delete s1")).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(OperationRegistryTest, MalformedIdsAreRefused) {
  for (const char* id : {"", "..", "a/b", "a b", "a\nb", "../../etc/passwd"}) {
    EXPECT_EQ(registry_.Claim(Request(id)).status().code(), absl::StatusCode::kInvalidArgument)
        << id;
  }
  EXPECT_FALSE(registry_.Claim(Request(std::string(129, 'a'))).ok());
  EXPECT_TRUE(registry_.Claim(Request("job-42:step.3_x")).ok());
}

TEST_F(OperationRegistryTest, WatchersAreNotifiedOfEventsAndTheEnd) {
  auto claim = registry_.Claim(Request("op-w"));
  std::atomic<int> calls{0};
  EXPECT_TRUE(claim->run->NotifyAfter(0, [&] { ++calls; }));
  EXPECT_EQ(calls.load(), 0);
  claim->run->Publish("e1");
  EXPECT_EQ(calls.load(), 1);
  // News is already there: nothing is registered, the caller reads again.
  EXPECT_FALSE(claim->run->NotifyAfter(0, [&] { ++calls; }));
  EXPECT_TRUE(claim->run->NotifyAfter(1, [&] { ++calls; }));
  ASSERT_TRUE(registry_.Finish(claim->run, absl::OkStatus(), "r").ok());
  EXPECT_EQ(calls.load(), 2);
  OperationRun::Read read = claim->run->ReadFrom(1);
  EXPECT_TRUE(read.done);
  EXPECT_TRUE(read.events.empty());
  EXPECT_EQ(read.result, "r");
}

TEST_F(OperationRegistryTest, UnknownOperationsAreNotFound) {
  EXPECT_EQ(registry_.Get("never").status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace l4d2::agent
