// Root tier: a real systemd manager and journald (tests/sandbox/run) and real overlay mounts.
// The fake game server runs as a systemd unit, its console is read back from journald, it is
// queried over A2S and stopped with the game's stop signal.

#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "agent/logs/journal.h"
#include "agent/os/linux/linux_game_client.h"
#include "agent/os/linux/sd_journal_reader.h"
#include "common/file_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/child_process.h"
#include "tests/testing/eventually.h"
#include "tests/testing/net.h"
#include "tests/testing/temp_dir.h"

namespace l4d2::testing {
namespace {

using ::testing::HasSubstr;

// Runs a command to completion; returns its output (stdout and stderr) and exit code.
std::string Command(const std::vector<std::string>& argv, int* code = nullptr) {
  int status = 0;
  absl::StatusOr<std::string> output = RunToCompletion({.argv = argv}, &status);
  if (code != nullptr) *code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return output.ok() ? *output : output.status().ToString();
}

std::string UnitProperty(const std::string& unit, const std::string& property) {
  return std::string(absl::StripAsciiWhitespace(
      Command({"/usr/bin/systemctl", "--user", "show", "-p", property, "--value", unit})));
}

std::string Journal(const std::string& unit) {
  return Command({"/usr/bin/journalctl", "-u", unit, "-o", "cat", "--no-pager"});
}

class RootTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (getuid() != 0 || std::getenv("L4D2_SANDBOX") == nullptr) {
      GTEST_SKIP() << "root tier: run as root inside tests/sandbox/run";
    }
  }
};

class SystemdJournaldTest : public RootTest {
 protected:
  void SetUp() override {
    RootTest::SetUp();
    if (IsSkipped()) return;
    install_ = dir_.Sub("install");
    for (const char* platform : {"windows", "linux"}) {
      int code = 0;
      std::string output =
          Command({L4D2_FAKE_STEAMCMD, "+force_install_dir", install_, "+login", "anonymous",
                   "+@sSteamCmdForcePlatformType", platform, "+app_update", "222860", "+quit"},
                  &code);
      ASSERT_EQ(code, 0) << output;
    }
    std::ofstream(install_ + "/left4dead2/cfg/server.cfg") << "hostname \"Unit Server\"\n";
    unit_ = absl::StrCat("l4d2-root-test-", getpid(), ".service");
    port_ = FreeGamePort();
  }

  void TearDown() override {
    if (!unit_.empty()) {
      Command({"/usr/bin/systemctl", "--user", "stop", unit_});
      std::filesystem::remove(UnitPath());
      Command({"/usr/bin/systemctl", "--user", "daemon-reload"});
    }
  }

  std::string UnitPath() const {
    return absl::StrCat(std::getenv("XDG_RUNTIME_DIR"), "/systemd/user/", unit_);
  }

  TempDir dir_;
  std::string install_;
  std::string unit_;
  int port_ = 0;
};

TEST_F(SystemdJournaldTest, RunsTheGameAsAUnitReadsItBackAndStopsIt) {
  // The shape of deploy/systemd/left4me-server@.service, reduced to what this test needs.
  std::ofstream(UnitPath()) << "[Unit]\nDescription=left4me root test server\n\n"
                            << "[Service]\nType=simple\nWorkingDirectory=" << install_ << "\n"
                            << "ExecStart=" << install_ << "/srcds_run -game left4dead2 -port "
                            << port_ << " +ip 127.0.0.1 +map c1m1_hotel -maxplayers 4"
                            << " -norestart -strictportbind\n"
                            << "KillSignal=SIGINT\nTimeoutStopSec=15s\n"
                            << "LogRateLimitIntervalSec=0\n";
  int code = 0;
  Command({"/usr/bin/systemctl", "--user", "daemon-reload"}, &code);
  ASSERT_EQ(code, 0);
  std::string started = Command({"/usr/bin/systemctl", "--user", "start", unit_}, &code);
  ASSERT_EQ(code, 0) << started;

  ASSERT_TRUE(Eventually([&] { return UnitProperty(unit_, "ActiveState") == "active"; }));
  const std::string main_pid = UnitProperty(unit_, "MainPID");
  EXPECT_NE(main_pid, "0");
  ASSERT_TRUE(Eventually([&] {
    return Journal(unit_).find("Connection to Steam servers successful.") != std::string::npos;
  })) << Journal(unit_);

  agent::LinuxGameClient client;
  absl::StatusOr<agent::A2sInfo> info = client.QueryInfo({"127.0.0.1", port_}, absl::Seconds(2));
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->name, "Unit Server");
  EXPECT_EQ(info->map, "c1m1_hotel");

  std::string stopped = Command({"/usr/bin/systemctl", "--user", "stop", unit_}, &code);
  ASSERT_EQ(code, 0) << stopped;
  EXPECT_EQ(UnitProperty(unit_, "ActiveState"), "inactive");
  // SIGINT is a clean stop for systemd, and the game said goodbye into the journal.
  EXPECT_EQ(UnitProperty(unit_, "Result"), "success");
  EXPECT_TRUE(Eventually(
      [&] { return Journal(unit_).find("Signal SIGINT received") != std::string::npos; }));
  EXPECT_NE(kill(std::stoi(main_pid), 0), 0) << "the server process outlived its unit";
}

TEST_F(SystemdJournaldTest, ACrashIsSeenAsAFailure) {
  // Directly, and through left4me-console as the agent's units run the game: the same result.
  for (const std::string& prefix : {std::string(), std::string(L4D2_CONSOLE_HELPER) + " -- "}) {
    std::ofstream(UnitPath()) << "[Service]\nWorkingDirectory=" << install_ << "\n"
                              << "Environment=FAKE_SRCDS_CRASH_AFTER_MS=200\n"
                              << "ExecStart=" << prefix << install_
                              << "/srcds_run -game left4dead2 -port " << port_
                              << " +ip 127.0.0.1 +map c1m1_hotel -norestart\n";
    Command({"/usr/bin/systemctl", "--user", "daemon-reload"});
    int code = 0;
    Command({"/usr/bin/systemctl", "--user", "start", unit_}, &code);
    ASSERT_EQ(code, 0);
    ASSERT_TRUE(Eventually([&] { return UnitProperty(unit_, "ActiveState") == "failed"; }))
        << prefix;
    EXPECT_EQ(UnitProperty(unit_, "Result"), "exit-code") << prefix;
    EXPECT_EQ(UnitProperty(unit_, "ExecMainStatus"), "139") << prefix;
    Command({"/usr/bin/systemctl", "--user", "reset-failed", unit_});
  }
  // A game killed by a signal: the forwarder ends by the same signal ("$$$$": systemd makes
  // "$$" of it).
  std::ofstream(UnitPath()) << "[Service]\nExecStart=" << L4D2_CONSOLE_HELPER
                            << " -- /bin/sh -c 'echo dying; kill -SEGV $$$$'\n";
  Command({"/usr/bin/systemctl", "--user", "daemon-reload"});
  Command({"/usr/bin/systemctl", "--user", "start", unit_});
  ASSERT_TRUE(Eventually([&] { return UnitProperty(unit_, "ActiveState") == "failed"; }));
  EXPECT_EQ(UnitProperty(unit_, "Result"), "signal");
  EXPECT_EQ(UnitProperty(unit_, "ExecMainStatus"), "11");
}

// left4me-console as the unit's main process, as the agent's units run the game: a burst of
// output becomes few journal entries of many lines, which the agent's journal reader gives
// back line by line, counts by line for "the newest N", and resumes inside of.
TEST_F(SystemdJournaldTest, TheConsoleForwarderWritesEntriesOfLinesTheReaderSplitsAgain) {
  std::ofstream(UnitPath()) << "[Service]\nType=simple\n"
                            << "ExecStart=" << L4D2_CONSOLE_HELPER << " -- /bin/sh -c "
                            << "'i=0; while [ $i -lt 3000 ]; do echo \"burst line $i\"; "
                            << "i=$((i+1)); done; exec sleep 300'\n"
                            << "LogRateLimitIntervalSec=0\n";
  int code = 0;
  Command({"/usr/bin/systemctl", "--user", "daemon-reload"}, &code);
  ASSERT_EQ(code, 0);
  std::string started = Command({"/usr/bin/systemctl", "--user", "start", unit_}, &code);
  ASSERT_EQ(code, 0) << started;
  agent::SdJournal journal;
  auto read_all = [&](const agent::JournalQuery& query) {
    std::vector<agent::v1::LogLine> lines;
    absl::StatusOr<std::unique_ptr<agent::JournalReader>> reader = journal.Open(query);
    EXPECT_TRUE(reader.ok()) << reader.status();
    if (!reader.ok()) return lines;
    for (;;) {
      absl::StatusOr<std::vector<agent::JournalEntry>> entries = (*reader)->Next(256);
      EXPECT_TRUE(entries.ok()) << entries.status();
      if (!entries.ok() || entries->empty()) break;
      for (const agent::JournalEntry& entry : *entries) {
        for (agent::v1::LogLine& line : agent::ToLogLines(entry)) {
          if (absl::StartsWith(line.text(), "burst line")) lines.push_back(std::move(line));
        }
      }
    }
    return lines;
  };
  std::vector<agent::v1::LogLine> all;
  ASSERT_TRUE(Eventually([&] {
    all = read_all({.unit = unit_, .lines = 100000});
    return all.size() >= 3000;
  })) << all.size();
  ASSERT_EQ(all.size(), 3000u);
  for (size_t i = 0; i < all.size(); ++i) {
    ASSERT_EQ(all[i].text(), absl::StrCat("burst line ", i));
    EXPECT_EQ(all[i].source(), "sh");
  }
  // Fewer entries than lines: the burst went in entries of many lines.
  std::string entries =
      Command({"/usr/bin/journalctl", "--user-unit", unit_, "--unit", unit_, "-o", "cat",
               "--no-pager", "--output-fields=MESSAGE", "-q", "SYSLOG_IDENTIFIER=sh"});
  size_t first_lines = 0;
  for (absl::string_view line : absl::StrSplit(entries, '\n')) {
    if (absl::StartsWith(line, "burst line")) ++first_lines;
  }
  EXPECT_EQ(first_lines, 3000u) << "journalctl prints every line";
  size_t inside = 0;
  for (const agent::v1::LogLine& line : all) inside += absl::StrContains(line.cursor(), ";l=");
  EXPECT_GT(inside, 0u) << "no entry held more than one line";

  // The newest 5 lines, though they start inside an entry.
  std::vector<agent::v1::LogLine> newest = read_all({.unit = unit_, .lines = 5});
  ASSERT_EQ(newest.size(), 5u);
  EXPECT_EQ(newest.front().text(), "burst line 2995");
  EXPECT_EQ(newest.back().text(), "burst line 2999");
  // Resume after a line inside an entry, and after an entry's last line.
  for (size_t at = 0; at + 1 < all.size(); ++at) {
    const bool mid = absl::StrContains(all[at].cursor(), ";l=");
    if (!mid && at != 0) continue;
    std::vector<agent::v1::LogLine> rest =
        read_all({.unit = unit_, .after_cursor = all[at].cursor()});
    ASSERT_EQ(rest.size(), all.size() - at - 1) << all[at].cursor();
    EXPECT_EQ(rest.front().text(), absl::StrCat("burst line ", at + 1));
    if (mid) break;
  }
}

class OverlayMountTest : public RootTest {};

TEST_F(OverlayMountTest, TheKernelOverlaysAWritableLayerOnTheSharedInstall) {
  TempDir dir;
  for (const char* sub : {"lower/cfg", "upper", "work", "merged"}) {
    std::filesystem::create_directories(dir.Sub(sub));
  }
  std::ofstream(dir.Sub("lower/cfg/server.cfg")) << "hostname \"from the install\"\n";
  std::string options = absl::StrCat("lowerdir=", dir.Sub("lower"), ",upperdir=", dir.Sub("upper"),
                                     ",workdir=", dir.Sub("work"));
  ASSERT_EQ(mount("overlay", dir.Sub("merged").c_str(), "overlay", 0, options.c_str()), 0)
      << std::strerror(errno);
  EXPECT_EQ(*ReadFileToString(dir.Sub("merged/cfg/server.cfg")), "hostname \"from the install\"\n");
  ASSERT_TRUE(WriteFileAtomically(dir.Sub("merged/cfg/server.cfg"), "hostname \"mine\"\n").ok());
  // The write went to the instance's layer; the shared install is untouched.
  EXPECT_EQ(*ReadFileToString(dir.Sub("upper/cfg/server.cfg")), "hostname \"mine\"\n");
  EXPECT_EQ(*ReadFileToString(dir.Sub("lower/cfg/server.cfg")), "hostname \"from the install\"\n");
  ASSERT_EQ(umount2(dir.Sub("merged").c_str(), 0), 0) << std::strerror(errno);
}

}  // namespace
}  // namespace l4d2::testing
