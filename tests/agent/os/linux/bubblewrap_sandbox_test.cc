#include "agent/os/linux/bubblewrap_sandbox.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "agent/os/linux/linux_process_runner.h"
#include "common/file_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/child_process.h"
#include "tests/testing/temp_dir.h"

// The real sandbox: bubblewrap as `nobody` in a transient unit of the test sandbox's manager
// (tests/sandbox/run), as the integration tier runs.
namespace l4d2::agent {
namespace {

namespace fs = std::filesystem;
using ::l4d2::testing::TempDir;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// Processes of `uid` whose command line starts with `command`.
int CountProcesses(uid_t uid, const std::string& command) {
  int count = 0;
  std::error_code error;
  for (const fs::directory_entry& entry : fs::directory_iterator("/proc", error)) {
    int pid = 0;
    struct stat st;
    if (!absl::SimpleAtoi(entry.path().filename().string(), &pid) ||
        ::stat(entry.path().c_str(), &st) != 0 || st.st_uid != uid) {
      continue;
    }
    absl::StatusOr<std::string> cmdline = ReadFileToString(entry.path().string() + "/cmdline");
    if (cmdline.ok() && cmdline->rfind(command + std::string(1, '\0'), 0) == 0) ++count;
  }
  return count;
}

class BubblewrapSandboxTest : public ::testing::Test {
 protected:
  BubblewrapSandboxTest() {
    // The script's user must be able to reach its working directory.
    ::chmod(dir_.path().c_str(), 0755);
    fs::create_directories(workdir_);
  }

  absl::Status Run(const std::string& source, absl::Duration timeout = absl::Seconds(30),
                   bool network = false) {
    lines_.clear();
    return sandbox_.Run(
        {.source = source, .workdir = workdir_, .timeout = timeout, .network = network},
        [this](absl::string_view line) { lines_.emplace_back(line); });
  }

  TempDir dir_;
  const std::string workdir_ = dir_.Sub("overlays/ref/.staging-op");
  LinuxProcessRunner runner_;
  // The sandbox's manager (tests/sandbox/run) is a user manager running as root.
  BubblewrapSandbox sandbox_{
      runner_,
      {.systemd_run = {"/usr/bin/systemd-run", "--user"},
       .env = {absl::StrCat("XDG_RUNTIME_DIR=", std::getenv("XDG_RUNTIME_DIR") != nullptr
                                                    ? std::getenv("XDG_RUNTIME_DIR")
                                                    : "")},
       .user = "nobody",
       .max_output_lines = 50}};
  std::vector<std::string> lines_;
};

TEST_F(BubblewrapSandboxTest, TheScriptWritesOnlyItsDirectoryAsAnUnprivilegedUser) {
  const std::string secret = dir_.Sub("secret");
  ASSERT_TRUE(WriteFileAtomically(secret, "s", 0644).ok());
  absl::Status status = Run(absl::StrCat(
      "id -u\n"
      "pwd\n"
      "mkdir -p left4dead2/cfg && echo 'hostname scripted' > left4dead2/cfg/server.cfg\n"
      "chmod 4777 left4dead2/cfg/server.cfg\n"
      "touch /usr/probe 2>/dev/null && echo usr-writable || echo usr-read-only\n"
      "test -e ",
      secret,
      " && echo host-visible || echo host-hidden\n"
      "test -e /etc/shadow && echo shadow-visible || echo shadow-hidden\n"
      "ls /proc | grep -c '^[0-9]'\n"
      "grep -c : /proc/net/dev\n"));
  ASSERT_TRUE(status.ok()) << status;
  // uid, directory, then: /usr read-only, the host's files and /etc/shadow invisible, only the
  // sandbox's own few processes, and only the loopback interface.
  ASSERT_EQ(lines_.size(), 7u) << absl::StrJoin(lines_, "\n");
  EXPECT_EQ(lines_[0], "65534");
  EXPECT_EQ(lines_[1], "/overlay");
  EXPECT_EQ(lines_[2], "usr-read-only");
  EXPECT_EQ(lines_[3], "host-hidden");
  EXPECT_EQ(lines_[4], "shadow-hidden");
  int processes = 0;
  EXPECT_TRUE(absl::SimpleAtoi(lines_[5], &processes));
  EXPECT_LE(processes, 4);
  EXPECT_EQ(lines_[6], "1");

  // Everything is root's again, without set-id bits or group/other write.
  const std::string config = workdir_ + "/left4dead2/cfg/server.cfg";
  EXPECT_EQ(*ReadFileToString(config), "hostname scripted\n");
  for (const std::string& path : {workdir_, workdir_ + "/left4dead2", config}) {
    struct stat st;
    ASSERT_EQ(::lstat(path.c_str(), &st), 0) << path;
    EXPECT_EQ(st.st_uid, 0u) << path;
    EXPECT_EQ(st.st_gid, 0u) << path;
    EXPECT_EQ(st.st_mode & (S_ISUID | S_ISGID | S_IWGRP | S_IWOTH), 0u) << path;
  }
  EXPECT_EQ(fs::status(workdir_).permissions(), fs::perms(0755));
  EXPECT_FALSE(fs::exists(workdir_ + ".script"));
}

// Issue Isolation, 8: a script's files are bounded by its disk quota while it writes them, and
// nothing of a script stopped by it reaches the overlay version.
TEST_F(BubblewrapSandboxTest, AScriptsFilesStopAtItsDiskQuota) {
  BubblewrapSandbox small(
      runner_, {.systemd_run = {"/usr/bin/systemd-run", "--user"},
                .env = {absl::StrCat("XDG_RUNTIME_DIR=", std::getenv("XDG_RUNTIME_DIR"))},
                .user = "nobody",
                .disk_quota_mib = 2});
  std::vector<std::string> lines;
  auto sink = [&lines](absl::string_view line) { lines.emplace_back(line); };
  absl::Status full = small.Run(
      {.source = "head -c 1048576 /dev/zero > a\nhead -c 5242880 /dev/zero > b\necho done\n",
       .workdir = workdir_},
      sink);
  EXPECT_EQ(full.code(), absl::StatusCode::kFailedPrecondition) << full;
  EXPECT_THAT(full.message(), HasSubstr("disk quota (scripts.disk_quota_mib, 2 MiB)"));
  EXPECT_TRUE(fs::is_empty(workdir_)) << "a failed script's files reached the version";
  EXPECT_FALSE(fs::exists(workdir_ + ".quota"));
  // Within the quota: the files are in the version, and the script never saw it directly.
  absl::Status fits =
      small.Run({.source = "head -c 1048576 /dev/zero > a\nmkdir -p d && echo x > d/f\npwd\n",
                 .workdir = workdir_},
                sink);
  ASSERT_TRUE(fits.ok()) << fits;
  EXPECT_EQ(fs::file_size(workdir_ + "/a"), 1048576u);
  EXPECT_EQ(*ReadFileToString(workdir_ + "/d/f"), "x\n");
  EXPECT_FALSE(fs::exists(workdir_ + ".quota"));
}

TEST_F(BubblewrapSandboxTest, AFailureCarriesTheExitStatusAndTheLastLines) {
  absl::Status status = Run("echo first\necho boom >&2\nexit 3\n");
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(status.message(), HasSubstr("exit status 3"));
  EXPECT_THAT(status.message(), HasSubstr("boom"));
  EXPECT_THAT(lines_, ElementsAre("first", "boom"));
  // sh -e: the first failing command ends the script.
  EXPECT_EQ(Run("false\necho not-reached\n").code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(lines_.empty());
  // A shebang picks the interpreter.
  ASSERT_TRUE(Run("#!/bin/sh\necho \"$0\"\n").ok());
  EXPECT_THAT(lines_, ElementsAre("/run/left4me/script"));
}

TEST_F(BubblewrapSandboxTest, ATimeoutKillsEveryProcessOfTheScript) {
  const int before = CountProcesses(65534, "sleep");
  const absl::Time start = absl::Now();
  absl::Status status = Run("sleep 300 &\nsetsid sleep 300 &\nsleep 300\n", absl::Seconds(1));
  EXPECT_EQ(status.code(), absl::StatusCode::kDeadlineExceeded) << status;
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));
  // The sandbox's PID namespace ended with it, background and new-session children included.
  absl::Time deadline = absl::Now() + absl::Seconds(5);
  while (CountProcesses(65534, "sleep") > before && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  EXPECT_EQ(CountProcesses(65534, "sleep"), before);
  struct stat st;
  ASSERT_EQ(::stat(workdir_.c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 0u);
}

TEST_F(BubblewrapSandboxTest, NetworkFilesOnlyWithNetwork) {
  ASSERT_TRUE(fs::exists("/etc/hosts"));
  const std::string probe = "test -e /etc/hosts && echo hosts || echo none\n";
  ASSERT_TRUE(Run(probe).ok());
  EXPECT_THAT(lines_, ElementsAre("none"));
  ASSERT_TRUE(Run(probe, absl::Seconds(30), /*network=*/true).ok());
  EXPECT_THAT(lines_, ElementsAre("hosts"));
}

// Issue Isolation, 8: a script with network goes out, never to this host (the agent's port, the
// servers' RCON, any local service), by loopback or by the host's own addresses.
TEST_F(BubblewrapSandboxTest, ANetworkedScriptReachesNothingOfThisHost) {
  std::vector<std::string> targets = {"127.0.0.1"};
  for (const std::string& address : HostAddresses()) {
    if (address.find(':') == std::string::npos && address != "127.0.0.1") {
      targets.push_back(address);
      break;
    }
  }
  for (const std::string& address : targets) {
    const int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(listener, 0);
    sockaddr_in bound{};
    bound.sin_family = AF_INET;
    ::inet_pton(AF_INET, address.c_str(), &bound.sin_addr);
    ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&bound), sizeof(bound)), 0);
    ASSERT_EQ(::listen(listener, 4), 0);
    socklen_t length = sizeof(bound);
    ::getsockname(listener, reinterpret_cast<sockaddr*>(&bound), &length);
    const std::string probe = absl::StrCat(
        "#!/bin/bash\nif timeout 3 bash -c 'exec 3<>/dev/tcp/", address, "/", ntohs(bound.sin_port),
        "' 2>/dev/null; then echo reached; else echo refused; fi\n");
    ASSERT_TRUE(Run(probe, absl::Seconds(30), /*network=*/true).ok());
    EXPECT_THAT(lines_, ElementsAre("refused")) << address;
    // The control: the same probe from here reaches it.
    int status = 0;
    absl::StatusOr<std::string> here = l4d2::testing::RunToCompletion(
        {.argv = {"/bin/bash", "-c", probe.substr(probe.find('\n') + 1)}}, &status);
    ASSERT_TRUE(here.ok());
    EXPECT_EQ(*here, "reached\n") << address;
    ::close(listener);
  }
}

TEST_F(BubblewrapSandboxTest, OutputIsCappedAndAMissingUserIsNamed) {
  ASSERT_TRUE(Run("seq 1 80\n").ok());
  ASSERT_EQ(lines_.size(), 51u);
  EXPECT_EQ(lines_[49], "50");
  EXPECT_THAT(lines_[50], HasSubstr("more than 50 lines"));

  BubblewrapSandbox missing(runner_, {.user = "left4me-no-such-user"});
  absl::Status status = missing.Run({.source = "true", .workdir = workdir_}, nullptr);
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(status.message(), HasSubstr("left4me-no-such-user"));
}

}  // namespace
}  // namespace l4d2::agent
