#include "agent/os/linux/linux_process_runner.h"

#include <signal.h>

#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace l4d2::agent {
namespace {

using ::testing::HasSubstr;

TEST(LinuxProcessRunnerTest, RunsWithExactlyTheGivenEnvironmentAndDirectory) {
  LinuxProcessRunner runner;
  absl::StatusOr<ProcessResult> result = RunProcess(
      runner,
      {.argv = {"/bin/sh", "-c", "echo \"$GREETING\"; pwd; env | wc -l; echo err >&2; exit 3"},
       .env = {"GREETING=hello"},
       .cwd = "/tmp"},
      absl::Seconds(10));
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->exit.code, 3);
  EXPECT_FALSE(result->exit.signaled);
  // GREETING, and what sh itself sets (PWD, SHLVL, _): nothing of the parent's environment.
  EXPECT_THAT(result->output, HasSubstr("hello\n/tmp\n"));
  EXPECT_THAT(result->output, HasSubstr("err\n"));
}

TEST(LinuxProcessRunnerTest, ReadsLinesAsTheyComeAndTimesOut) {
  LinuxProcessRunner runner;
  absl::StatusOr<std::unique_ptr<RunningProcess>> process =
      runner.Start({.argv = {"/bin/sh", "-c", "echo first; exec sleep 30"}});
  ASSERT_TRUE(process.ok());
  absl::StatusOr<std::string> line = (*process)->ReadLine(absl::Now() + absl::Seconds(5));
  ASSERT_TRUE(line.ok());
  EXPECT_EQ(*line, "first");
  EXPECT_EQ((*process)->ReadLine(absl::Now() + absl::Milliseconds(50)).status().code(),
            absl::StatusCode::kDeadlineExceeded);
  (*process)->Signal(SIGTERM);
  absl::StatusOr<ExitStatus> exit = (*process)->Wait(absl::Now() + absl::Seconds(5));
  ASSERT_TRUE(exit.ok());
  EXPECT_TRUE(exit->signaled);
  EXPECT_EQ(exit->code, SIGTERM);
}

TEST(LinuxProcessRunnerTest, ATimeoutKillsTheWholeGroup) {
  LinuxProcessRunner runner;
  absl::Time start = absl::Now();
  absl::StatusOr<ProcessResult> result = RunProcess(
      runner, {.argv = {"/bin/sh", "-c", "sleep 30 & sleep 30"}}, absl::Milliseconds(200));
  EXPECT_EQ(result.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
}

TEST(LinuxProcessRunnerTest, RefusesRelativeAndMissingPrograms) {
  LinuxProcessRunner runner;
  EXPECT_EQ(runner.Start({.argv = {"sh"}}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(runner.Start({.argv = {"/nonexistent/program"}}).status().code(),
            absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace l4d2::agent
