// left4me-console's forwarding with real processes: the output of a program in entries of
// whole lines, its exit status passed on, and the end of the service with the program even
// when a child of its keeps the output open.

#include "agent/console/console_forwarder.h"

#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

#include "absl/strings/str_join.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace l4d2::agent {
namespace {

class ListSink final : public ConsoleSink {
 public:
  void Write(std::string_view entry) override { entries.emplace_back(entry); }
  std::vector<std::string> entries;
};

int RunShell(const std::string& script, ListSink& sink) {
  std::string error;
  const int status = RunForwarded({"/bin/sh", "-c", script}, sink, &error);
  EXPECT_GE(status, 0) << error;
  return status;
}

TEST(ConsoleForwarderTest, ForwardsEveryLineAndPassesTheExitCodeOn) {
  ListSink sink;
  const int status = RunShell("printf 'one\\ntwo\\n'; echo three >&2; printf 'last'; exit 3", sink);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 3);
  // However the reads fell, the entries hold exactly the output.
  EXPECT_EQ(absl::StrJoin(sink.entries, ""), "one\ntwo\nthree\nlast");
  for (size_t i = 0; i + 1 < sink.entries.size(); ++i) {
    EXPECT_EQ(sink.entries[i].back(), '\n') << "entries end with whole lines";
  }
}

TEST(ConsoleForwarderTest, AFloodBecomesFewEntriesOfManyLines) {
  ListSink sink;
  const int status =
      RunShell("i=0; while [ $i -lt 20000 ]; do echo \"line $i\"; i=$((i+1)); done", sink);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  size_t lines = 0;
  for (const std::string& entry : sink.entries) {
    lines += static_cast<size_t>(std::count(entry.begin(), entry.end(), '\n'));
    EXPECT_LE(entry.size(), 48u * 1024);
  }
  EXPECT_EQ(lines, 20000u);
  EXPECT_LT(sink.entries.size(), 20000u);
}

TEST(ConsoleForwarderTest, ASignalEndingTheProgramIsReported) {
  ListSink sink;
  const int status = RunShell("echo bye; kill -SEGV $$", sink);
  ASSERT_TRUE(WIFSIGNALED(status));
  EXPECT_EQ(WTERMSIG(status), SIGSEGV);
  EXPECT_THAT(sink.entries, ::testing::ElementsAre("bye\n"));
}

TEST(ConsoleForwarderTest, EndsWithTheProgramThoughAChildKeepsTheOutputOpen) {
  ListSink sink;
  const auto start = std::chrono::steady_clock::now();
  const int status = RunShell("echo started; sleep 30 & exit 0", sink);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_THAT(sink.entries, ::testing::ElementsAre("started\n"));
}

TEST(ConsoleForwarderTest, AProgramThatCannotRunSaysWhyAndExits127) {
  ListSink sink;
  std::string error;
  const int status = RunForwarded({"/nonexistent/srcds_run"}, sink, &error);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 127);
  ASSERT_EQ(sink.entries.size(), 1u);
  EXPECT_THAT(sink.entries[0], ::testing::HasSubstr("cannot run /nonexistent/srcds_run"));
}

}  // namespace
}  // namespace l4d2::agent
