// End to end as root in the systemd sandbox: the real l4d2-agent runs instances as units of a
// real systemd manager, mounted by the real overlay helper from an install made with the fake
// steamcmd, and l4d2ctl drives it all. The fake game answers A2S from its merged tree.

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "agent/host/cpu_list.h"
#include "agent/os/linux/linux_game_client.h"
#include "agent/overlay_helper/overlay_mounter.h"
#include "common/file_util.h"
#include "common/sha256.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/root/agent_host_test.h"
#include "tests/testing/child_process.h"
#include "tests/testing/eventually.h"
#include "tests/testing/net.h"
#include "tests/testing/temp_dir.h"

namespace l4d2::testing {
namespace {

namespace fs = std::filesystem;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

class AgentLifecycleTest : public AgentHostTest {};

TEST_F(AgentLifecycleTest, TheWholeLifecycleThroughL4d2ctl) {
  int code = 0;
  std::string installed = Ctl({"install"}, &code);
  ASSERT_EQ(code, 0) << installed << agent_->Output();
  EXPECT_THAT(installed, HasSubstr("installed build 9000001"));

  // An overlay whose own server.cfg renames the server, synced from local files.
  fs::create_directories(dir_.Sub("comp/left4dead2/cfg"));
  std::ofstream(dir_.Sub("comp/left4dead2/cfg/server.cfg")) << "hostname \"From The Overlay\"\n";
  std::string synced = Ctl({"overlay", "sync", "comp", "--dir", dir_.Sub("comp")}, &code);
  ASSERT_EQ(code, 0) << synced;
  EXPECT_THAT(synced, HasSubstr("overlay comp: version 1, 1 files"));
  EXPECT_THAT(Ctl({"overlay", "sync", "comp", "--dir", dir_.Sub("comp")}),
              HasSubstr("(unchanged)"));

  WriteSpec("s1.yaml", port_, "overlays: [comp]\nexec_overlay_cfg: [comp]\n");
  WriteSpec("s2.yaml", port_ + 1, "");
  ASSERT_EQ((Ctl({"initialize", "s1", "-f", dir_.Sub("s1.yaml")}, &code), code), 0);
  ASSERT_EQ((Ctl({"initialize", "s2", "-f", dir_.Sub("s2.yaml")}, &code), code), 0);
  std::string started = Ctl({"start", "s1"}, &code);
  ASSERT_EQ(code, 0) << started << agent_->Output();
  ASSERT_EQ((Ctl({"start", "s2"}, &code), code), 0);

  // Two servers on one install; the overlay's server.cfg changed the first one's name.
  absl::StatusOr<agent::A2sInfo> first = Query(port_);
  ASSERT_TRUE(first.ok()) << first.status() << Ctl({"status", "s1"});
  EXPECT_EQ(first->name, "From The Overlay");
  EXPECT_EQ(first->map, "c2m1_highway");
  EXPECT_EQ(first->max_players, 6);
  absl::StatusOr<agent::A2sInfo> second = Query(port_ + 1);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->name, absl::StrCat("Spec ", port_ + 1));
  agent::OverlayMounter mounts(root_);
  EXPECT_TRUE(mounts.IsMounted("s1"));
  EXPECT_TRUE(mounts.IsMounted("s2"));
  ASSERT_TRUE(Eventually([&] {
    return Ctl({"status", "s1"}).find("state:     running") != std::string::npos;
  }));
  std::string status = Ctl({"status", "s1", "--json"}, &code);
  EXPECT_EQ(code, 0);
  EXPECT_THAT(status, HasSubstr("\"overlay_mounted\": true"));
  EXPECT_THAT(Ctl({"list"}), HasSubstr("s2"));
  EXPECT_THAT(Ctl({"host"}), HasSubstr("instances:       2 (2 running)"));
  // A reflection client nobody here wrote sees the same instance.
  int buf_status = 0;
  absl::StatusOr<std::string> buf = RunToCompletion(
      {.argv = {L4D2_BUF, "curl", "--protocol", "grpc", "--http2-prior-knowledge", "--unix-socket",
                socket_, "http://localhost/l4d2.agent.v1.AgentService/GetInstance", "-d",
                R"({"name":"s1","includePlayers":true})"}},
      &buf_status);
  ASSERT_TRUE(buf.ok());
  EXPECT_THAT(*buf, HasSubstr("\"state\": \"INSTANCE_STATE_RUNNING\""));
  EXPECT_THAT(*buf, HasSubstr("\"name\": \"From The Overlay\""));

  // The console: RCON with the instance's own password, which is never shown.
  std::string console = Ctl({"console", "s1", "fake_join", "Louis;", "status"}, &code);
  EXPECT_EQ(code, 0) << console;
  EXPECT_THAT(console, HasSubstr("hostname: From The Overlay"));
  EXPECT_THAT(console, HasSubstr("\"Louis\""));
  EXPECT_THAT(Ctl({"status", "s1"}), HasSubstr("player:  Louis"));
  std::string password;
  {
    std::ifstream in(root_ + "/instances/s1/rcon_password");
    in >> password;
  }
  EXPECT_THAT(Ctl({"status", "s1", "--json"}), Not(HasSubstr(password)));
  EXPECT_THAT(agent_->Output(), Not(HasSubstr(password)));
  EXPECT_THAT(Ctl({"console", "s2", "quit\nquit"}, &code), HasSubstr("without line breaks"));

  // Logs: history from journald, then live lines while following.
  std::string history = Ctl({"logs", "s1", "--lines", "500", "--no-follow"}, &code);
  EXPECT_EQ(code, 0) << history;
  EXPECT_THAT(history, HasSubstr("Connection to Steam servers successful."));
  EXPECT_THAT(history, HasSubstr("execing server_comp.cfg"));
  // Exactly the newest N, and a resume right after a cursor, from the real journal.
  std::string last_two = Ctl({"logs", "s1", "--lines", "2", "--no-follow", "--json"}, &code);
  ASSERT_EQ(code, 0) << last_two;
  std::vector<std::string> entries = absl::StrSplit(last_two, '\n', absl::SkipEmpty());
  ASSERT_EQ(entries.size(), 2u) << last_two;
  std::smatch cursor;
  ASSERT_TRUE(std::regex_search(entries[0], cursor, std::regex(R"re("cursor": ?"([^"]+)")re")))
      << entries[0];
  std::string resumed =
      Ctl({"logs", "s1", "--after_cursor", cursor[1].str(), "--no-follow", "--json"}, &code);
  ASSERT_EQ(code, 0) << resumed;
  EXPECT_EQ(resumed, entries[1] + "\n");
  absl::StatusOr<std::unique_ptr<ChildProcess>> follower =
      ChildProcess::Start({.argv = {L4D2CTL_BINARY, "--agent", "unix:" + socket_, "logs", "s1",
                                    "--lines", "1", "--follow"}});
  ASSERT_TRUE(follower.ok());
  Ctl({"console", "s1", "say", "hello-follower"});
  EXPECT_TRUE((*follower)->WaitForOutput("Console: hello-follower")) << (*follower)->Output();
  EXPECT_THAT(Ctl({"logs", "nope"}, &code), HasSubstr("no instance 'nope'"));

  // An overlay from an archive on a web server, verified by its SHA-256.
  fs::create_directories(dir_.Sub("web/src/pack/addons"));
  std::ofstream(dir_.Sub("web/src/pack/addons/plugin.vpk")) << "VPK";
  int tar_status = 0;
  ASSERT_TRUE(RunToCompletion({.argv = {"/bin/tar", "-czf", dir_.Sub("web/pack.tar.gz"), "-C",
                                        dir_.Sub("web/src"), "pack"}},
                              &tar_status)
                  .ok());
  const int web_port = FreeGamePort();
  absl::StatusOr<std::unique_ptr<ChildProcess>> web =
      ChildProcess::Start({.argv = {"/usr/bin/env", "python3", "-m", "http.server", "--bind",
                                    "127.0.0.1", std::to_string(web_port)},
                           .cwd = dir_.Sub("web")});
  ASSERT_TRUE(web.ok());
  ASSERT_TRUE((*web)->WaitForOutput("Serving HTTP"));
  const std::string url = absl::StrCat("http://127.0.0.1:", web_port, "/pack.tar.gz");
  std::string archived = Ctl(
      {"overlay", "sync", "plugins", "--url", url, "--sha256",
       *Sha256OfFile(dir_.Sub("web/pack.tar.gz")), "--destination", "left4dead2", "--strip", "1"},
      &code);
  EXPECT_EQ(code, 0) << archived;
  EXPECT_THAT(archived, HasSubstr("overlay plugins: version 1, 1 files"));
  EXPECT_TRUE(fs::exists(root_ + "/overlays/plugins/current/left4dead2/addons/plugin.vpk"));
  std::string refused =
      Ctl({"overlay", "sync", "plugins2", "--url", url, "--sha256", std::string(64, 'a')}, &code);
  EXPECT_EQ(code, 1);
  EXPECT_THAT(refused, HasSubstr("sha256 mismatch"));

  // An overlay built by an admin's script in the sandbox, as an unprivileged user; its output
  // comes back, what it wrote is root's, and a failing script keeps the current version.
  std::ofstream(dir_.Sub("build.sh")) << "echo building as $(id -u)\n"
                                         "mkdir -p left4dead2/cfg\n"
                                         "echo 'sv_consistency 0' > left4dead2/cfg/extra.cfg\n";
  std::string scripted =
      Ctl({"overlay", "sync", "scripted", "--script", dir_.Sub("build.sh")}, &code);
  ASSERT_EQ(code, 0) << scripted << agent_->Output();
  EXPECT_THAT(scripted, HasSubstr("building as 65534"));
  EXPECT_THAT(scripted, HasSubstr("overlay scripted: version 1, 1 files"));
  struct stat st;
  ASSERT_EQ(::stat((root_ + "/overlays/scripted/current/left4dead2/cfg/extra.cfg").c_str(), &st),
            0);
  EXPECT_EQ(st.st_uid, 0u);
  std::ofstream(dir_.Sub("fail.sh"))
      << "mkdir -p left4dead2/cfg\necho half > left4dead2/cfg/extra.cfg\nexit 7\n";
  std::string failed = Ctl({"overlay", "sync", "scripted", "--script", dir_.Sub("fail.sh")}, &code);
  EXPECT_EQ(code, 1);
  EXPECT_THAT(failed, HasSubstr("exit status 7"));
  EXPECT_EQ(*ReadFileToString(root_ + "/overlays/scripted/current/left4dead2/cfg/extra.cfg"),
            "sv_consistency 0\n");

  // A new overlay version while s1 runs: s1 keeps version 1 until it restarts.
  std::ofstream(dir_.Sub("comp/left4dead2/cfg/server.cfg")) << "hostname \"Version Two\"\n";
  EXPECT_THAT(Ctl({"overlay", "sync", "comp", "--dir", dir_.Sub("comp")}), HasSubstr("version 2"));
  EXPECT_EQ(Query(port_)->name, "From The Overlay");
  EXPECT_THAT(Ctl({"overlay", "list"}), HasSubstr("s1@1"));

  // Reset wipes what the game wrote into its writable layer.
  std::ofstream(root_ + "/runtime/s1/merged/left4dead2/written_by_game.txt") << "x";
  EXPECT_TRUE(fs::exists(root_ + "/runtime/s1/upper/left4dead2/written_by_game.txt"));
  std::string reset = Ctl({"reset", "s1"}, &code);
  ASSERT_EQ(code, 0) << reset << agent_->Output();
  EXPECT_FALSE(mounts.IsMounted("s1"));
  EXPECT_TRUE(fs::is_empty(root_ + "/runtime/s1/upper"));

  // An install update while s2 runs leaves s2 on its build until it restarts.
  fs::create_directories(dir_.Sub("home/.fake-steamcmd"));
  std::ofstream(dir_.Sub("home/.fake-steamcmd/public_buildid")) << "9000002";
  ASSERT_EQ((Ctl({"install"}, &code), code), 0);
  EXPECT_THAT(Lower("s2"), HasSubstr("installation/9000001\n"));
  EXPECT_TRUE(fs::exists(root_ + "/installation/9000001/srcds_run")) << "pinned build removed";
  ASSERT_EQ((Ctl({"restart", "s2"}, &code), code), 0);
  EXPECT_THAT(Lower("s2"), HasSubstr("installation/9000002\n"));
  EXPECT_TRUE(Query(port_ + 1).ok());

  // Delete leaves no mount, no unit, no file; deleting again is fine.
  ASSERT_EQ((Ctl({"delete", "s2"}, &code), code), 0);
  EXPECT_FALSE(mounts.IsMounted("s2"));
  EXPECT_FALSE(fs::exists(root_ + "/instances/s2"));
  EXPECT_FALSE(fs::exists(root_ + "/runtime/s2"));
  EXPECT_THAT(Ctl({"list"}), Not(HasSubstr("s2")));
  EXPECT_THAT(Ctl({"delete", "s2"}, &code), HasSubstr("nothing to delete"));
  EXPECT_EQ(code, 0);
}

TEST_F(AgentLifecycleTest, BadRequestsAreRefusedWithTheirCodes) {
  int code = 0;
  WriteSpec("s1.yaml", port_, "");
  ASSERT_EQ((Ctl({"initialize", "s1", "-f", dir_.Sub("s1.yaml")}, &code), code), 0);
  // Start before install.
  EXPECT_THAT(Ctl({"start", "s1"}, &code), HasSubstr("not installed"));
  EXPECT_EQ(code, 1);
  // Hostile spec files: refused before anything changes.
  std::ofstream(dir_.Sub("bad.yaml")) << "port: " << port_ << "\ncvars: {rcon_password: x}\n";
  EXPECT_THAT(Ctl({"initialize", "s2", "-f", dir_.Sub("bad.yaml")}, &code),
              HasSubstr("not an allowed setting"));
  EXPECT_EQ(code, 1);
  std::ofstream(dir_.Sub("alias.yaml")) << "port: &p " << port_ << "\nmax_players: *p\n";
  EXPECT_THAT(Ctl({"initialize", "s2", "-f", dir_.Sub("alias.yaml")}, &code),
              HasSubstr("not allowed"));
  EXPECT_EQ(code, 2);
  EXPECT_FALSE(fs::exists(root_ + "/instances/s2"));
  EXPECT_THAT(Ctl({"status", "nope"}, &code), HasSubstr("no instance 'nope'"));
  EXPECT_EQ(code, 1);
}

// Issue Deploy: a program as its packaged unit runs it, Type=notify with a watchdog, in the
// sandbox's manager. Started() returns once the manager counts it started (systemd-run waits
// for READY=1); FrozenIsAborted() stops it and waits for the manager to abort it.
class NotifyUnit {
 public:
  explicit NotifyUnit(std::vector<std::string> command)
      : unit_(absl::StrCat("l4d2-notify-test-", getpid(), "-", counter_++, ".service")),
        command_(std::move(command)) {}
  ~NotifyUnit() {
    Systemctl({"stop"});
    Systemctl({"reset-failed"});
  }

  void Start() {
    std::vector<std::string> argv = {"/usr/bin/systemd-run", "--user", "--unit=" + unit_,   "-p",
                                     "Type=notify",          "-p",     "NotifyAccess=main", "-p",
                                     "WatchdogSec=2s"};
    argv.insert(argv.end(), command_.begin(), command_.end());
    int status = 0;
    absl::StatusOr<std::string> started = RunToCompletion({.argv = argv}, &status);
    ASSERT_TRUE(started.ok());
    ASSERT_EQ(status, 0) << *started;
  }

  // Running, "serving", and still the same process after three watchdog intervals.
  void ExpectFedWatchdog() {
    EXPECT_THAT(Systemctl({"show", "-p", "ActiveState,SubState,StatusText"}),
                AllOf(HasSubstr("ActiveState=active\n"), HasSubstr("SubState=running\n"),
                      HasSubstr("StatusText=serving\n")));
    pid_ = std::string(absl::StripAsciiWhitespace(Systemctl({"show", "-p", "MainPID", "--value"})));
    absl::SleepFor(absl::Seconds(6));
    EXPECT_THAT(Systemctl({"show", "-p", "ActiveState,MainPID"}),
                AllOf(HasSubstr("ActiveState=active\n"), HasSubstr("MainPID=" + pid_ + "\n")));
  }

  // Frozen: its health checks stop, and the manager aborts it for the watchdog.
  void ExpectFrozenIsAborted() {
    int main_pid = 0;
    ASSERT_TRUE(absl::SimpleAtoi(pid_, &main_pid)) << pid_;
    ASSERT_EQ(::kill(main_pid, SIGSTOP), 0);
    EXPECT_TRUE(Eventually(
        [&] {
          return absl::StrContains(Systemctl({"show", "-p", "Result"}), "Result=watchdog");
        },
        absl::Seconds(15)))
        << Systemctl({"status", "--no-pager"});
  }

 private:
  std::string Systemctl(const std::vector<std::string>& args) {
    std::vector<std::string> argv = {"/usr/bin/systemctl", "--user"};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.push_back(unit_);
    int status = 0;
    absl::StatusOr<std::string> out = RunToCompletion({.argv = argv}, &status);
    return out.ok() ? *out : out.status().ToString();
  }

  static inline int counter_ = 0;
  const std::string unit_;
  const std::vector<std::string> command_;
  std::string pid_;
};

bool InRootTier() { return getuid() == 0 && std::getenv("L4D2_SANDBOX") != nullptr; }

TEST(NotifyUnitTest, TheAgentIsStartedWhenItServesAndAbortedWhenItStopsAnswering) {
  if (!InRootTier()) GTEST_SKIP() << "root tier: run as root inside tests/sandbox/run";
  TempDir dir;
  const std::string socket = dir.Sub("agent.sock");
  std::ofstream(dir.Sub("agent.yaml"))
      << "root: " << dir.Sub("root") << "\n"
      << "listen: {tcp: \"\", unix: " << socket << "}\n"
      << "steamcmd: " << L4D2_FAKE_STEAMCMD << "\n"
      << "systemd:\n  scope: user\n  unit_dir: " << std::getenv("XDG_RUNTIME_DIR")
      << "/systemd/user\n  unit_prefix: l4d2-notify\n  overlay_helper: " << L4D2_OVERLAY_HELPER
      << "\n  console_helper: " << L4D2_CONSOLE_HELPER
      << "\n  server_users: \"\"\n  hardening: false\n"
      << "scripts: {user: nobody}\nfetch_helper: " << L4D2_FETCH_HELPER << "\nfetch_user: nobody\n";
  NotifyUnit unit({L4D2_AGENT_BINARY, "--config", dir.Sub("agent.yaml")});
  ASSERT_NO_FATAL_FAILURE(unit.Start());
  EXPECT_TRUE(fs::exists(socket)) << "the manager counted it started before it served";
  unit.ExpectFedWatchdog();
  unit.ExpectFrozenIsAborted();
}

TEST(NotifyUnitTest, TheControllerIsStartedWhenItServesAndAbortedWhenItStopsAnswering) {
  if (!InRootTier()) GTEST_SKIP() << "root tier: run as root inside tests/sandbox/run";
  TempDir dir;
  const int port = FreeGamePort();
  NotifyUnit unit({L4D2_CONTROLLER_BINARY, "--database", "sqlite3:" + dir.Sub("c.db"), "--pki_dir",
                   dir.Sub("pki"), "--listen_http", absl::StrCat("127.0.0.1:", port),
                   "--report_listen", ""});
  ASSERT_NO_FATAL_FAILURE(unit.Start());
  auto ready = HttpRequest(port, "GET", "/readyz", {}, "");
  ASSERT_TRUE(ready.ok()) << "the manager counted it started before it served";
  EXPECT_EQ(ready->status, 200);
  unit.ExpectFedWatchdog();
  unit.ExpectFrozenIsAborted();
}

// Issue Deploy: game servers run in their slice, off the cores kept for the host's system, with
// their priority and limits as the kernel applies them (/proc and the cgroup files), and build
// work runs below them. Where cgroup v2 has the memory and cpuset controllers (a Debian 12
// host), their files are read too; this machine's cgroup v1 leaves resource control to PID 1.
class ServerPlacementTest : public AgentHostTest {
 protected:
  void SetUp() override {
    absl::StatusOr<std::string> online = ReadFileToString("/sys/devices/system/cpu/online");
    ASSERT_TRUE(online.ok());
    absl::StatusOr<std::set<int>> cpus = agent::ParseCpuList(*online);
    ASSERT_TRUE(cpus.ok()) << cpus.status();
    if (cpus->size() < 2) GTEST_SKIP() << "needs 2 CPUs to keep one for the system";
    reserved_ = *cpus->begin();
    cpus->erase(cpus->begin());
    servers_cpus_ = agent::FormatCpuList(*cpus);
    extra_config_ = absl::StrCat("server_limits: {reserved_cpus: \"", reserved_, "\", nice: 3}\n");
    StartAgent();
  }

  int reserved_ = 0;
  std::string servers_cpus_;
};

// Field `index` (1-based, as proc(5) counts) of /proc/<pid>/stat.
std::string StatField(const std::string& pid, int index) {
  absl::StatusOr<std::string> stat = ReadFileToString("/proc/" + pid + "/stat");
  if (!stat.ok()) return "";
  // Fields after the command (which may hold spaces) start at 3.
  const std::vector<std::string> rest = absl::StrSplit(stat->substr(stat->rfind(')') + 2), ' ');
  return index >= 3 && static_cast<size_t>(index - 3) < rest.size() ? rest[index - 3] : "";
}

std::string ProcLine(const std::string& pid, const std::string& file, const std::string& key) {
  absl::StatusOr<std::string> text = ReadFileToString("/proc/" + pid + "/" + file);
  if (!text.ok()) return "";
  for (absl::string_view line : absl::StrSplit(*text, '\n')) {
    if (absl::StartsWith(line, key)) {
      return std::string(absl::StripAsciiWhitespace(line.substr(key.size())));
    }
  }
  return "";
}

TEST_F(ServerPlacementTest, ServersRunInTheirSliceOffTheSystemsCoresWithTheirLimits) {
  int code = 0;
  ASSERT_EQ((Ctl({"install"}, &code), code), 0) << agent_->Output();
  EXPECT_THAT(agent_->Output(),
              HasSubstr(absl::StrCat("game servers and scripts run on CPUs ", servers_cpus_)));
  WriteSpec("s1.yaml", port_, "");
  ASSERT_EQ((Ctl({"initialize", "s1", "-f", dir_.Sub("s1.yaml")}, &code), code), 0);
  ASSERT_EQ((Ctl({"start", "s1"}, &code), code), 0) << agent_->Output();
  ASSERT_TRUE(Query(port_).ok());
  const std::string pid = MainPid("s1");
  ASSERT_FALSE(pid.empty());

  // What the kernel holds for the game's process.
  EXPECT_EQ(ProcLine(pid, "status", "Cpus_allowed_list:"), servers_cpus_);
  EXPECT_EQ(StatField(pid, 19), "3");  // nice
  EXPECT_EQ(ProcLine(pid, "oom_score_adj", ""), "500");
  // Its cgroup: the unit inside the servers' slice inside left4me's.
  absl::StatusOr<std::string> cgroups = ReadFileToString("/proc/" + pid + "/cgroup");
  ASSERT_TRUE(cgroups.ok());
  EXPECT_THAT(*cgroups,
              HasSubstr("/left4me.slice/left4me-servers.slice/left4me-server@s1.service"));
  // The slices as the agent wrote them.
  const std::string units = std::string(std::getenv("XDG_RUNTIME_DIR")) + "/systemd/user/";
  EXPECT_THAT(*ReadFileToString(units + "left4me.slice"),
              HasSubstr(absl::StrCat("\nAllowedCPUs=", servers_cpus_, "\n")));

  // cgroup v2 with its controllers (a Debian 12 host under its system manager): the limits in
  // the kernel's own files.
  const std::string unified = ProcLine(pid, "cgroup", "0::");
  const std::string files = "/sys/fs/cgroup" + unified;
  if (fs::exists(files + "/memory.max")) {
    EXPECT_EQ(*ReadFileToString(files + "/memory.max"), "2147483648\n");
    EXPECT_EQ(*ReadFileToString(files + "/memory.high"), "1610612736\n");
    EXPECT_EQ(*ReadFileToString(files + "/pids.max"), "256\n");
    EXPECT_EQ(*ReadFileToString(files + "/cpuset.cpus.effective"), servers_cpus_ + "\n");
  } else {
    std::cout << "[ note ] no cgroup v2 memory controller at " << files
              << ": memory.max, pids.max and cpuset read where the system manager has them\n";
  }

  // Build work: an overlay script runs on the same CPUs, below the servers' priority.
  std::ofstream(dir_.Sub("probe.sh"))
      << "echo \"cpus $(grep Cpus_allowed_list /proc/self/status | cut -f2)\"\n"
         "echo \"nice $(cut -d' ' -f19 /proc/self/stat)\"\nmkdir -p left4dead2\n"
         "touch left4dead2/probed\n";
  std::string probed = Ctl({"overlay", "sync", "probed", "--script", dir_.Sub("probe.sh")}, &code);
  ASSERT_EQ(code, 0) << probed << agent_->Output();
  EXPECT_THAT(probed, HasSubstr("cpus " + servers_cpus_));
  EXPECT_THAT(probed, HasSubstr("nice 10"));
  created_ = {"s1"};
}

}  // namespace
}  // namespace l4d2::testing
