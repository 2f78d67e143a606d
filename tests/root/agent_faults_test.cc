// Faults of security.md, as root in the systemd sandbox: the agent killed with SIGKILL while
// servers run, and a hundred start/stop cycles of one instance.

#include <signal.h>

#include <algorithm>
#include <regex>

#include "absl/strings/numbers.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "agent/overlay_helper/overlay_mounter.h"
#include "common/file_util.h"
#include "gmock/gmock.h"
#include "tests/root/agent_host_test.h"

namespace l4d2::testing {
namespace {

using ::testing::HasSubstr;

class AgentFaultsTest : public AgentHostTest {
 protected:
  int MainPid(const std::string& name) {
    std::smatch match;
    std::string json = Ctl({"status", name, "--json"});
    if (!std::regex_search(json, match, std::regex(R"("main_pid": ([0-9]+))"))) return 0;
    int pid = 0;
    return absl::SimpleAtoi(match[1].str(), &pid) ? pid : 0;
  }

  // Overlay mounts below our root, as the kernel lists them.
  std::vector<std::string> Mounts() {
    std::vector<std::string> mounts;
    absl::StatusOr<std::string> info = ReadFileToString("/proc/self/mountinfo", 16 << 20);
    for (absl::string_view line : absl::StrSplit(*info, '\n', absl::SkipEmpty())) {
      std::vector<absl::string_view> fields = absl::StrSplit(line, ' ');
      if (fields.size() > 4 && absl::StartsWith(fields[4], root_)) {
        mounts.emplace_back(fields[4]);
      }
    }
    std::sort(mounts.begin(), mounts.end());
    return mounts;
  }
};

TEST_F(AgentFaultsTest, KillingTheAgentTenTimesLeavesFiveServersRunning) {
  int code = 0;
  ASSERT_EQ((Ctl({"install"}, &code), code), 0);
  std::vector<std::string> names;
  for (int i = 0; i < 5; ++i) {
    std::string name = absl::StrCat("k", i);
    names.push_back(name);
    created_.push_back(name);
    WriteSpec(name + ".yaml", port_ + i, "");
    ASSERT_EQ((Ctl({"initialize", name, "-f", dir_.Sub(name + ".yaml")}, &code), code), 0);
    ASSERT_EQ((Ctl({"start", name}, &code), code), 0);
  }
  std::map<std::string, int> pids;
  for (const std::string& name : names) {
    ASSERT_TRUE(Eventually([&] { return MainPid(name) > 0; }));
    pids[name] = MainPid(name);
  }
  const std::vector<std::string> mounts_before = Mounts();
  ASSERT_EQ(mounts_before.size(), 5u);

  absl::Duration slowest = absl::ZeroDuration();
  for (int kill = 0; kill < 10; ++kill) {
    agent_->Signal(SIGKILL);
    ASSERT_TRUE(agent_->Wait(absl::Seconds(5)).ok());
    const absl::Time restarted = absl::Now();
    StartAgent();
    // State is back: every server listed running, with its PID, over A2S.
    ASSERT_TRUE(Eventually(
        [&] {
          std::string list = Ctl({"list"});
          return std::count(list.begin(), list.end(), '\n') == 6 &&
                 list.find("running") != std::string::npos &&
                 list.find("starting") == std::string::npos;
        },
        absl::Seconds(10)))
        << Ctl({"list"});
    slowest = std::max(slowest, absl::Now() - restarted);
  }
  for (const std::string& name : names) {
    EXPECT_EQ(MainPid(name), pids[name]) << name << " was restarted";
    EXPECT_THAT(Ctl({"status", name}), HasSubstr(", 0 restarts"));
  }
  EXPECT_EQ(Mounts(), mounts_before) << "one overlay mount per instance, no more";
  EXPECT_THAT(Ctl({"list"}), ::testing::Not(HasSubstr("orphan")));
  RecordProperty("slowest_state_back_ms", absl::StrCat(absl::ToInt64Milliseconds(slowest)));
  std::cout << "[ figure ] state back after kill -9 within " << absl::ToInt64Milliseconds(slowest)
            << " ms (target 10000)\n";
}

TEST_F(AgentFaultsTest, AHundredStartStopCyclesLeaveTheMountTableAsItWas) {
  int code = 0;
  ASSERT_EQ((Ctl({"install"}, &code), code), 0);
  WriteSpec("s1.yaml", port_, "");
  ASSERT_EQ((Ctl({"initialize", "s1", "-f", dir_.Sub("s1.yaml")}, &code), code), 0);
  const std::vector<std::string> mounts_before = Mounts();
  agent::OverlayMounter mounts(root_);
  std::vector<absl::Duration> stops;
  for (int cycle = 0; cycle < 100; ++cycle) {
    std::string started = Ctl({"start", "s1"}, &code);
    ASSERT_EQ(code, 0) << "cycle " << cycle << ": " << started;
    ASSERT_TRUE(mounts.IsMounted("s1"));
    const absl::Time stopping = absl::Now();
    std::string stopped = Ctl({"stop", "s1"}, &code);
    ASSERT_EQ(code, 0) << "cycle " << cycle << ": " << stopped;  // EBUSY would fail here.
    ASSERT_FALSE(mounts.IsMounted("s1")) << "cycle " << cycle;
    stops.push_back(absl::Now() - stopping);
  }
  EXPECT_EQ(Mounts(), mounts_before);
  std::sort(stops.begin(), stops.end());
  const absl::Duration p50 = stops[stops.size() / 2];
  const absl::Duration p99 = stops[stops.size() * 99 / 100];
  EXPECT_LT(p99, absl::Seconds(2));
  std::cout << "[ figure ] stop to unmounted over 100 cycles: p50 "
            << absl::ToInt64Milliseconds(p50) << " ms, p99 " << absl::ToInt64Milliseconds(p99)
            << " ms (target p99 < 2000)\n";
}

TEST_F(AgentFaultsTest, ACrashLoopIsShownAsSuchAndNotRestartedForever) {
  int code = 0;
  ASSERT_EQ((Ctl({"install"}, &code), code), 0);
  created_.push_back("c1");
  WriteSpec("c1.yaml", port_, "restart: {mode: on-failure, delay: 1s, burst: 2, interval: 60s}\n");
  ASSERT_EQ((Ctl({"initialize", "c1", "-f", dir_.Sub("c1.yaml")}, &code), code), 0);
  // Test-only: make the fake game crash 300 ms after it starts, every time.
  const std::string dropin_dir =
      absl::StrCat(std::getenv("XDG_RUNTIME_DIR"), "/systemd/user/left4me-server@c1.service.d");
  std::filesystem::create_directories(dropin_dir);
  std::ofstream(dropin_dir + "/90-test-crash.conf")
      << "[Service]\nEnvironment=FAKE_SRCDS_CRASH_AFTER_MS=300\n";
  std::string started = Ctl({"start", "c1"}, &code);
  ASSERT_EQ(code, 0) << started;
  ASSERT_TRUE(Eventually(
      [&] {
        return Ctl({"status", "c1"}).find("state:     crash_loop") != std::string::npos;
      },
      absl::Seconds(20)))
      << Ctl({"status", "c1", "--json"});
  std::string status = Ctl({"status", "c1", "--json"});
  EXPECT_THAT(status, HasSubstr("\"active_state\": \"failed\""));
  EXPECT_THAT(status, HasSubstr("\"last_exit_status\": 139"));  // The crash, not a stop.
  // systemd gave up (start-limit-hit is final until a manual start): nothing runs.
  EXPECT_EQ(MainPid("c1"), 0);
  EXPECT_THAT(Ctl({"status", "c1"}), HasSubstr(", 2 restarts"));
  std::filesystem::remove_all(dropin_dir + "/90-test-crash.conf");
}

// Hang detection (issue Automation), for real: the fake game stops answering A2S while its
// process lives (fake_hang): the instance is hung once the spec's grace has passed since its
// last answer, not before; restarted, it runs again; a game booting longer than the grace is
// starting, never hung.
TEST_F(AgentFaultsTest, AGameThatStopsAnsweringIsHungAfterItsGraceButABootingOneIsNot) {
  int code = 0;
  ASSERT_EQ((Ctl({"install"}, &code), code), 0);
  created_.push_back("h1");
  WriteSpec("h1.yaml", port_, "restart: {hang_grace: 10s}\n");
  ASSERT_EQ((Ctl({"initialize", "h1", "-f", dir_.Sub("h1.yaml")}, &code), code), 0);
  ASSERT_EQ((Ctl({"start", "h1"}, &code), code), 0);
  auto state = [&] {
    const std::string status = Ctl({"status", "h1"});
    const size_t at = status.find("state:     ");
    return at == std::string::npos ? status
                                   : status.substr(at + 11, status.find('\n', at) - at - 11);
  };
  ASSERT_TRUE(Eventually([&] { return state() == "running"; }, absl::Seconds(20))) << state();
  const int pid = MainPid("h1");
  std::string said = Ctl({"console", "h1", "fake_hang"}, &code);
  ASSERT_EQ(code, 0) << said;
  const absl::Time silent = absl::Now();
  std::vector<std::string> seen;
  ASSERT_TRUE(Eventually(
      [&] {
        seen.push_back(state());
        return seen.back() == "hung";
      },
      absl::Seconds(30)))
      << absl::StrJoin(seen, ", ");
  EXPECT_GE(absl::Now() - silent, absl::Seconds(9));  // the grace, from the last answer
  EXPECT_EQ(MainPid("h1"), pid);                      // the process lives
  for (size_t i = 0; i + 1 < seen.size(); ++i) EXPECT_EQ(seen[i], "starting") << i;

  ASSERT_EQ((Ctl({"restart", "h1"}, &code), code), 0);
  EXPECT_TRUE(Eventually([&] { return state() == "running"; }, absl::Seconds(20))) << state();

  // A slow boot (20 s, twice the grace) is starting all along.
  const std::string dropin_dir =
      absl::StrCat(std::getenv("XDG_RUNTIME_DIR"), "/systemd/user/left4me-server@h1.service.d");
  std::filesystem::create_directories(dropin_dir);
  std::ofstream(dropin_dir + "/90-test-boot.conf")
      << "[Service]\nEnvironment=FAKE_SRCDS_BOOT_MS=20000\n";
  ASSERT_EQ(std::system("systemctl --user daemon-reload"), 0);  // the unit is loaded already
  ASSERT_EQ((Ctl({"restart", "h1"}, &code), code), 0);
  const absl::Time booting = absl::Now();
  while (absl::Now() - booting < absl::Seconds(15)) {
    const std::string now = state();
    ASSERT_TRUE(now == "starting") << now;
    absl::SleepFor(absl::Milliseconds(500));
  }
  std::filesystem::remove_all(dropin_dir + "/90-test-boot.conf");
}

}  // namespace
}  // namespace l4d2::testing
