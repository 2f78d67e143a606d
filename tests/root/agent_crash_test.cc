// A crash at every step of every kind of operation, followed by a retry with the same
// operation id (security.md): the agent is SIGKILLed at a named crash point
// (common/crash_points.h), started again, and the same l4d2ctl command is repeated. The retry
// must succeed, leave the host as one clean run would (no staging left, one build, one version,
// one mount, no second server), and never do a finished side effect twice.

#include <signal.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <regex>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/file_util.h"
#include "gmock/gmock.h"
#include "tests/root/agent_host_test.h"
#include "tests/testing/eventually.h"

namespace l4d2::testing {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

class AgentCrashTest : public AgentHostTest {
 protected:
  // Runs `args` with operation id `id` on an agent armed to die at `point`, checks that it
  // died there, restarts it, and runs the same command again; returns the retry's output.
  std::string CrashThenRetry(const std::string& point, std::vector<std::string> args,
                             const std::string& id) {
    agent_->Signal(SIGTERM);
    EXPECT_TRUE(agent_->Wait().ok());
    StartAgent({{"L4D2_CRASH_AT", point}});
    args.insert(args.end(), {"--operation_id", id});
    int code = 0;
    std::string first = Ctl(args, &code);
    EXPECT_NE(code, 0) << point << ": the command finished: " << first;
    absl::StatusOr<int> status = agent_->Wait();
    EXPECT_TRUE(status.ok() && WIFSIGNALED(*status) && WTERMSIG(*status) == SIGKILL)
        << point << ": the agent did not die there\n"
        << agent_->Output();
    EXPECT_THAT(agent_->Output(), HasSubstr(absl::StrCat("crash point '", point, "'")));
    StartAgent();
    std::string retried = Ctl(args, &code);
    EXPECT_EQ(code, 0) << point << ": the retry failed: " << retried << agent_->Output();
    return retried;
  }

  // Entries of `dir` whose names start with `prefix`.
  std::vector<std::string> Entries(const std::string& dir, const std::string& prefix = "") {
    std::vector<std::string> names;
    std::error_code error;
    for (const fs::directory_entry& entry : fs::directory_iterator(dir, error)) {
      std::string name = entry.path().filename().string();
      if (name.rfind(prefix, 0) == 0) names.push_back(name);
    }
    std::sort(names.begin(), names.end());
    return names;
  }

  int MainPid(const std::string& name) {
    std::smatch match;
    std::string json = Ctl({"status", name, "--json"});
    int pid = 0;
    if (std::regex_search(json, match, std::regex(R"("main_pid": ([0-9]+))"))) {
      (void)absl::SimpleAtoi(match[1].str(), &pid);
    }
    return pid;
  }

  int OverlayMounts() {
    absl::StatusOr<std::string> info = ReadFileToString("/proc/self/mountinfo", 16 << 20);
    int count = 0;
    for (size_t at = info->find(root_); at != std::string::npos; at = info->find(root_, at + 1)) {
      ++count;
    }
    return count;
  }
};

TEST_F(AgentCrashTest, EveryStepSurvivesACrashAndARetryWithTheSameOperationId) {
  // Install: killed after the new build was renamed into place, before `current` switched;
  // then after everything, before the operation's record.
  CrashThenRetry("install.before_switch", {"install"}, "install-1");
  EXPECT_EQ(Entries(root_ + "/installation").size(), 2u)
      << "one build and current: " << absl::StrJoin(Entries(root_ + "/installation"), " ");
  EXPECT_THAT(CrashThenRetry("operation.before_record", {"install"}, "install-2"),
              HasSubstr("installed build 9000001"));
  EXPECT_EQ(Entries(root_ + "/installation").size(), 2u);

  // Overlay sync: killed with the new version renamed but `current` not switched.
  fs::create_directories(dir_.Sub("comp/left4dead2/cfg"));
  std::ofstream(dir_.Sub("comp/left4dead2/cfg/server.cfg")) << "hostname \"Crash Test\"\n";
  CrashThenRetry("sync.before_switch", {"overlay", "sync", "comp", "--dir", dir_.Sub("comp")},
                 "sync-1");
  const std::string overlay = root_ + "/overlays/comp";
  EXPECT_EQ(Entries(overlay).size(), 2u)
      << "one version and current, no staging: " << absl::StrJoin(Entries(overlay), " ");
  EXPECT_TRUE(fs::exists(overlay + "/current/left4dead2/cfg/server.cfg"));
  EXPECT_THAT(CrashThenRetry("operation.before_record",
                             {"overlay", "sync", "comp", "--dir", dir_.Sub("comp")}, "sync-2"),
              HasSubstr("(unchanged)"));

  // Initialize, start, stop, start again, delete.
  WriteSpec("c1.yaml", port_, "overlays: [comp]\n");
  created_.push_back("c1");
  CrashThenRetry("initialize.before_record", {"initialize", "c1", "-f", dir_.Sub("c1.yaml")},
                 "init-1");
  EXPECT_THAT(Ctl({"status", "c1"}), HasSubstr("stopped"));
  CrashThenRetry("start.before_unit_start", {"start", "c1"}, "start-1");
  ASSERT_TRUE(Eventually([&] { return MainPid("c1") > 0; }));
  CrashThenRetry("operation.before_record", {"stop", "c1"}, "stop-1");
  EXPECT_EQ(MainPid("c1"), 0);
  EXPECT_EQ(OverlayMounts(), 0);

  // Started, then killed before the record: the retry finds the server running and leaves it.
  agent_->Signal(SIGTERM);
  ASSERT_TRUE(agent_->Wait().ok());
  StartAgent({{"L4D2_CRASH_AT", "operation.before_record"}});
  int code = 0;
  Ctl({"start", "c1", "--operation_id", "start-2"}, &code);
  EXPECT_NE(code, 0);
  ASSERT_TRUE(agent_->Wait().ok());
  StartAgent();
  ASSERT_TRUE(Eventually([&] { return MainPid("c1") > 0; }));
  const int pid = MainPid("c1");
  ASSERT_EQ((Ctl({"start", "c1", "--operation_id", "start-2"}, &code), code), 0);
  EXPECT_EQ(MainPid("c1"), pid) << "the retry started the server a second time";
  EXPECT_THAT(Ctl({"status", "c1"}), HasSubstr(", 0 restarts"));
  EXPECT_EQ(OverlayMounts(), 1);

  for (const std::string point : {"delete.after_unit_stop", "delete.after_reload"}) {
    if (point == "delete.after_reload") {
      ASSERT_EQ((Ctl({"initialize", "c1", "-f", dir_.Sub("c1.yaml")}, &code), code), 0);
      ASSERT_EQ((Ctl({"start", "c1"}, &code), code), 0);
    }
    CrashThenRetry(point, {"delete", "c1"}, "delete-" + point);
    EXPECT_EQ(OverlayMounts(), 0) << point;
    EXPECT_FALSE(fs::exists(root_ + "/instances/c1")) << point;
    EXPECT_FALSE(fs::exists(root_ + "/runtime/c1")) << point;
    EXPECT_THAT(Ctl({"list"}), Not(HasSubstr("c1"))) << point;
  }
}

}  // namespace
}  // namespace l4d2::testing
