// Issue Isolation, in the root tier: servers run as accounts of their own, and what one
// tenant's server or sync can do to another's is tried for real. (The sandbox's user manager
// cannot run the unit's own sandboxing, agent_host_test.h: the probes run as a server's account
// with the unit's ProtectProc= and InaccessiblePaths= applied to them.) Each case failed on the
// code before the issue: one shared account, server.cfg unreadable by the game, refs nested on
// disk, links counted.

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <regex>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/file_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/root/agent_host_test.h"

namespace l4d2::testing {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

class IsolationTest : public AgentHostTest {
 protected:
  void SetUp() override {
    if (getuid() != 0 || std::getenv("L4D2_SANDBOX") == nullptr) {
      GTEST_SKIP() << "root tier: run as root inside tests/sandbox/run";
    }
    // The pool, as deploy/sysusers.d makes it (the sandbox's /etc is private).
    server_users_ = absl::StrCat("l4d2t", getpid() % 100000, "-");
    fs::create_directories(dir_.Sub("home"));
    for (int i = 1; i <= 3; ++i) {
      int status = 0;
      absl::StatusOr<std::string> added =
          RunToCompletion({.argv = {"/usr/sbin/useradd", "--system", "--no-create-home",
                                    "--home-dir", dir_.Sub("home"), "--shell", "/usr/sbin/nologin",
                                    "--user-group", absl::StrCat(server_users_, i)}},
                          &status);
      ASSERT_TRUE(added.ok() && status == 0) << (added.ok() ? *added : added.status().ToString());
    }
    StartAgent();
  }

  void TearDown() override {
    AgentHostTest::TearDown();
    for (int i = 1; i <= 3; ++i) {
      int status = 0;
      RunToCompletion({.argv = {"/usr/sbin/userdel", absl::StrCat(server_users_, i)}}, &status)
          .IgnoreError();
    }
  }

  // The uid a unit's main process runs as; 0 when it cannot be told.
  uint32_t UidOf(const std::string& instance) {
    absl::StatusOr<std::string> proc = ReadFileToString("/proc/" + MainPid(instance) + "/status");
    std::smatch uid;
    if (!proc.ok() || !std::regex_search(*proc, uid, std::regex(R"(Uid:\s+([0-9]+))"))) return 0;
    return static_cast<uint32_t>(std::stoul(uid[1].str()));
  }

  // Runs `script` as `account` with what a server's unit hides from it, as code the server
  // runs (a plugin) would: ProtectProc=invisible and the unit's InaccessiblePaths=.
  std::string RunAs(const std::string& account, const std::string& script) {
    int status = 0;
    absl::StatusOr<std::string> output = RunToCompletion(
        {.argv = {"/usr/bin/systemd-run", "--user", "--quiet", "--wait", "--pipe", "--collect",
                  "-p", "User=" + account, "-p", "ProtectProc=invisible", "-p",
                  absl::StrCat("InaccessiblePaths=-", root_, "/overlays -", root_, "/instances -",
                               root_, "/installation -", root_, "/agent -", root_, "/tmp -",
                               socket_),
                  "/bin/sh", "-c", script}},
        &status);
    return output.ok() ? *output : output.status().ToString();
  }
};

TEST_F(IsolationTest, EachServerIsItsOwnAccountAndCannotReachAnothers) {
  int code = 0;
  ASSERT_EQ((Ctl({"install"}, &code), code), 0) << agent_->Output();
  fs::create_directories(dir_.Sub("comp/left4dead2/cfg"));
  std::ofstream(dir_.Sub("comp/left4dead2/cfg/server.cfg")) << "hostname \"From The Overlay\"\n";
  ASSERT_EQ((Ctl({"overlay", "sync", "comp", "--dir", dir_.Sub("comp")}, &code), code), 0);
  WriteSpec("s1.yaml", port_, "overlays: [comp]\nexec_overlay_cfg: [comp]\n");
  WriteSpec("s2.yaml", port_ + 1, "");
  for (const char* name : {"s1", "s2"}) {
    std::string initialized =
        Ctl({"initialize", name, "-f", dir_.Sub(std::string(name) + ".yaml")}, &code);
    ASSERT_EQ(code, 0) << initialized;
    std::string started = Ctl({"start", name}, &code);
    ASSERT_EQ(code, 0) << started << agent_->Output();
  }

  // The game reads its server.cfg (issue Isolation, 6: it was root's, 0640): the hostname and
  // the overlay's cfg apply, and the console's RCON password works.
  absl::StatusOr<agent::A2sInfo> first = Query(port_);
  ASSERT_TRUE(first.ok()) << first.status() << Ctl({"logs", "s1", "--no-follow"});
  EXPECT_EQ(first->name, "From The Overlay");
  ASSERT_TRUE(Query(port_ + 1).ok());
  EXPECT_EQ(Query(port_ + 1)->name, absl::StrCat("Spec ", port_ + 1));
  ASSERT_TRUE(Eventually([&] {
    return Ctl({"console", "s1", "status"}).find("hostname: From The Overlay") != std::string::npos;
  })) << Ctl({"console", "s1", "status"});

  // Two accounts of the pool, neither root.
  const uint32_t uid1 = UidOf("s1");
  const uint32_t uid2 = UidOf("s2");
  EXPECT_NE(uid1, 0u);
  EXPECT_NE(uid2, 0u);
  EXPECT_NE(uid1, uid2);
  struct stat st {};
  ASSERT_EQ(::stat((root_ + "/instances/s1/layer/left4dead2/cfg/server.cfg").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, uid1);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat((root_ + "/runtime/s1").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, uid1);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  ASSERT_EQ(::stat((root_ + "/instances/s1").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);

  // The server writes where it must: its bans into its own cfg/ (a directory of the install,
  // made its own in its writable layer).
  EXPECT_THAT(Ctl({"console", "s1", "writeid"}), HasSubstr("Writing cfg/banned_user.cfg."));
  ASSERT_EQ(::stat((root_ + "/runtime/s1/upper/left4dead2/cfg/banned_user.cfg").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, uid1);

  // Code s1 runs, against s2: every probe must be refused. A control as s2's own account shows
  // that the paths and the process are there.
  const std::string pid2 = MainPid("s2");
  ASSERT_FALSE(pid2.empty());
  const std::string probes = absl::StrCat(
      "P=", pid2, "; R=", root_, "\n",
      R"(try() { name=$1; shift; if "$@" >/dev/null 2>&1; then echo "LEAK $name"; else echo "refused $name"; fi; }
try signal kill -0 "$P"
try proc ls "/proc/$P/"
try environ cat "/proc/$P/environ"
try ptrace python3 -c 'import ctypes, sys; libc = ctypes.CDLL(None, use_errno=True); sys.exit(0 if libc.ptrace(16, int(sys.argv[1]), 0, 0) == 0 else 1)' "$P"
try runtime ls "$R/runtime/s2"
try files cat "$R/runtime/s2/merged/left4dead2/cfg/server.cfg"
try rcon cat "$R/instances/s2/rcon_password"
try cfg cat "$R/instances/s2/layer/left4dead2/cfg/server.cfg"
try overlays ls "$R/overlays"
try install ls "$R/installation"
)",
      "try agent ", L4D2CTL_BINARY, " --agent unix:", socket_, " --timeout 1s health\n");
  const std::string account1 = absl::StrCat(server_users_, 1);
  const std::string as_s1 = RunAs(account1, probes);
  for (const char* probe : {"signal", "proc", "environ", "ptrace", "runtime", "files", "rcon",
                            "cfg", "overlays", "install", "agent"}) {
    EXPECT_THAT(as_s1, HasSubstr(absl::StrCat("refused ", probe, "\n"))) << as_s1;
  }
  EXPECT_THAT(as_s1, Not(HasSubstr("LEAK")));
  // Which account has s2? The one whose uid is uid2.
  std::string account2;
  for (int i = 1; i <= 3; ++i) {
    const std::string name = absl::StrCat(server_users_, i);
    int status = 0;
    absl::StatusOr<std::string> id =
        RunToCompletion({.argv = {"/usr/bin/id", "-u", name}}, &status);
    uint32_t uid = 0;
    if (id.ok() && absl::SimpleAtoi(absl::StripAsciiWhitespace(*id), &uid) && uid == uid2) {
      account2 = name;
    }
  }
  ASSERT_FALSE(account2.empty());
  const std::string as_s2 = RunAs(account2, probes);
  EXPECT_THAT(as_s2, HasSubstr("LEAK runtime\n")) << as_s2;  // its own: the control
  EXPECT_THAT(as_s2, HasSubstr("LEAK files\n")) << as_s2;
  EXPECT_THAT(as_s2, HasSubstr("LEAK signal\n")) << as_s2;
}

// Issue Isolation, 1 and 4, on a real host's disk through l4d2ctl: no ref another tenant can
// name reaches into another's overlay, and a script's link chain out of its layer is refused.
TEST_F(IsolationTest, NoRefReachesAnotherOverlayAndLinksAreResolved) {
  int code = 0;
  auto sync = [&](const std::string& ref, const std::string& content) {
    fs::create_directories(dir_.Sub("src/" + content));
    std::ofstream(dir_.Sub("src/" + content + "/owner.txt")) << content << "\n";
    return Ctl({"overlay", "sync", ref, "--dir", dir_.Sub("src/" + content)}, &code);
  };
  ASSERT_THAT(sync("ceox/2024", "B"), HasSubstr("version 1"));
  for (int i = 1; i <= 3; ++i) {
    ASSERT_THAT(sync("ceox", absl::StrCat("A", i)), HasSubstr(absl::StrCat("version ", i)));
  }
  const std::string b = root_ + "/overlays/ceox+2024/current/owner.txt";
  EXPECT_EQ(*ReadFileToString(b), "B\n");
  // Refs an operator might try: refused, or valid refs of their own that leave B's alone.
  for (const char* ref : {"CEOX/2024",
                          "\xd1\x81"
                          "eox/2024",
                          "ceox+2024", "ceox/../ceox/2024", "/ceox/2024", "ceox//2024",
                          "ceox/2024 ", "ceox/2024/."}) {
    EXPECT_THAT(sync(ref, "evil"), HasSubstr("invalid overlay ref")) << ref;
    EXPECT_NE(code, 0) << ref;
  }
  for (const char* ref : {"ceox/2024/current", "ceox/2024/1", "ceox/current"}) {
    EXPECT_THAT(sync(ref, "evil"), HasSubstr("version 1")) << ref;
  }
  EXPECT_EQ(*ReadFileToString(b), "B\n");
  EXPECT_EQ(*ReadFileToString(root_ + "/overlays/ceox/current/owner.txt"), "A3\n");
  const std::string listed = Ctl({"overlay", "list"});
  EXPECT_THAT(listed, HasSubstr("ceox/2024"));
  EXPECT_FALSE(fs::exists(root_ + "/overlays/ceox/2024"));

  // A script's link chain through "x -> ." passes a count of path parts and resolves to the
  // layer's parent: refused, nothing becomes a version.
  std::ofstream(dir_.Sub("links.sh")) << "mkdir -p left4dead2/cfg\n"
                                         "ln -s . left4dead2/cfg/x\n"
                                         "ln -s x/x/x/../../../../.. left4dead2/cfg/server.cfg\n";
  std::string linked = Ctl({"overlay", "sync", "links", "--script", dir_.Sub("links.sh")}, &code);
  EXPECT_EQ(code, 1) << linked;
  EXPECT_THAT(linked, HasSubstr("symlink points outside the layer"));
  EXPECT_FALSE(fs::exists(root_ + "/overlays/links/current"));
}

}  // namespace
}  // namespace l4d2::testing
