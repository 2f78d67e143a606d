// Root tier: a real systemd manager and journald (tests/sandbox/run) and real overlay mounts.
// The fake game server runs as a systemd unit, its console is read back from journald, it is
// queried over A2S and stopped with the game's stop signal.

#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "agent/os/linux/linux_game_client.h"
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
  std::ofstream(UnitPath()) << "[Service]\nWorkingDirectory=" << install_ << "\n"
                            << "Environment=FAKE_SRCDS_CRASH_AFTER_MS=200\n"
                            << "ExecStart=" << install_ << "/srcds_run -game left4dead2 -port "
                            << port_ << " +ip 127.0.0.1 +map c1m1_hotel -norestart\n";
  Command({"/usr/bin/systemctl", "--user", "daemon-reload"});
  int code = 0;
  Command({"/usr/bin/systemctl", "--user", "start", unit_}, &code);
  ASSERT_EQ(code, 0);
  ASSERT_TRUE(Eventually([&] { return UnitProperty(unit_, "ActiveState") == "failed"; }));
  EXPECT_EQ(UnitProperty(unit_, "Result"), "exit-code");
  EXPECT_EQ(UnitProperty(unit_, "ExecMainStatus"), "139");
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
