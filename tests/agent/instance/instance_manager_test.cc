#include "agent/instance/instance_manager.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <thread>
#include <vector>

#include "common/file_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "spec/ports.h"
#include "tests/fakes/fake_clock.h"
#include "tests/fakes/fake_game_client.h"
#include "tests/fakes/fake_host_probe.h"
#include "tests/fakes/fake_service_manager.h"
#include "tests/testing/temp_dir.h"

namespace l4d2::agent {
namespace {

namespace fs = std::filesystem;
using ::l4d2::testing::FakeClock;
using ::l4d2::testing::FakeGameClient;
using ::l4d2::testing::FakeHostProbe;
using ::l4d2::testing::FakeServiceManager;
using ::l4d2::testing::TempDir;
using ::testing::HasSubstr;

class InstanceManagerTest : public ::testing::Test {
 protected:
  InstanceManagerTest() : layout_(dir_.Sub("root")) {
    EXPECT_TRUE(layout_.CreateDirectories().ok());
  }

  void InstallBuild(const std::string& build) {
    fs::create_directories(layout_.installation_dir() + "/" + build + "/steamapps");
    std::ofstream(layout_.installation_dir() + "/" + build + "/steamapps/appmanifest_222860.acf")
        << "\"AppState\" { \"buildid\" \"" << build << "\" }";
    fs::remove(layout_.current_installation());
    fs::create_directory_symlink(build, layout_.current_installation());
  }

  void AddOverlay(const std::string& ref, const std::string& version, const std::string& cfg) {
    std::string dir = layout_.overlay_dir(ref);
    fs::create_directories(dir + "/" + version + "/left4dead2/cfg");
    std::ofstream(dir + "/" + version + "/left4dead2/cfg/server.cfg") << cfg;
    fs::remove(dir + "/current");
    fs::create_directory_symlink(version, dir + "/current");
  }

  v1::InstanceSpec Spec(int port) {
    v1::InstanceSpec spec;
    spec.set_port(port);
    return spec;
  }

  std::string Read(const std::string& relative) {
    absl::StatusOr<std::string> text = ReadFileToString(layout_.root() + "/" + relative);
    return text.ok() ? *text : "";
  }

  TempDir dir_;
  HostLayout layout_;
  FakeServiceManager systemd_;
  FakeGameClient game_;
  FakeClock clock_;
  FakeHostProbe probe_;
  bool mounted_ = false;
  InstanceManager manager_{layout_,
                           systemd_,
                           game_,
                           clock_,
                           {.limits = {.port_first = 27015, .port_last = 27020},
                            .unit_dir = dir_.Sub("units"),
                            .ports = &probe_},
                           [this](const std::string&) { return mounted_; }};
};

TEST_F(InstanceManagerTest, InitializeRecordsTheSpecAndASecretPassword) {
  absl::StatusOr<v1::Instance> instance = manager_.Initialize("s1", Spec(27015));
  ASSERT_TRUE(instance.ok()) << instance.status();
  EXPECT_EQ(instance->spec().hostname(), "left4me s1");
  EXPECT_EQ(instance->status().state(), v1::INSTANCE_STATE_STOPPED);
  absl::StatusOr<std::string> password = manager_.RconPassword("s1");
  ASSERT_TRUE(password.ok());
  EXPECT_EQ(password->size(), 24u);
  EXPECT_EQ(
      fs::status(layout_.instances_dir() + "/s1/rcon_password").permissions() & fs::perms::all,
      fs::perms::owner_read | fs::perms::owner_write);
  EXPECT_THAT(instance->DebugString(), ::testing::Not(HasSubstr(*password)));
  for (const char* sub : {"upper", "work", "merged"}) {
    EXPECT_TRUE(fs::is_directory(layout_.runtime_dir() + "/s1/" + sub));
  }
}

TEST_F(InstanceManagerTest, BadInputChangesNothing) {
  EXPECT_EQ(manager_.Initialize("../x", Spec(27015)).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(manager_.Initialize("s1", Spec(1)).status().code(), absl::StatusCode::kInvalidArgument);
  v1::InstanceSpec spec = Spec(27015);
  spec.add_overlays()->set_ref("missing");
  EXPECT_THAT(manager_.Initialize("s1", spec).status().message(), HasSubstr("no overlay"));
  EXPECT_TRUE(fs::is_empty(layout_.instances_dir()));
  EXPECT_TRUE(fs::is_empty(layout_.runtime_dir()));
}

TEST_F(InstanceManagerTest, PortsAreUniqueOnAHost) {
  ASSERT_TRUE(manager_.Initialize("s1", Spec(27015)).ok());
  EXPECT_EQ(manager_.Initialize("s2", Spec(27015)).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(manager_.Initialize("s1", Spec(27015)).ok());  // Its own port again.
  // Moving s1 to another port frees its old one; deleting it frees the new one.
  ASSERT_TRUE(manager_.Initialize("s1", Spec(27016)).ok());
  EXPECT_TRUE(manager_.Initialize("s2", Spec(27015)).ok());
  EXPECT_EQ(manager_.Initialize("s3", Spec(27016)).status().code(),
            absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE(manager_.Delete("s1").ok());
  EXPECT_TRUE(manager_.Initialize("s3", Spec(27016)).ok());
}

// A port that another process holds (a server run by hand) is refused as taken, with nothing
// written; an instance's own port, which its running server holds, is not.
TEST_F(InstanceManagerTest, APortAnotherProcessHoldsIsRefusedAndChangesNothing) {
  probe_.bound_ports = {27016};
  absl::Status refused = manager_.Initialize("s1", Spec(27016)).status();
  EXPECT_EQ(spec::TakenPort(refused), 27016);
  EXPECT_THAT(refused.message(), HasSubstr("another process on this host"));
  EXPECT_TRUE(fs::is_empty(layout_.instances_dir()));
  EXPECT_THAT(manager_.HeldPorts(), ::testing::IsEmpty());
  ASSERT_TRUE(manager_.Initialize("s1", Spec(27015)).ok());
  probe_.bound_ports = {27015, 27016};
  EXPECT_TRUE(manager_.Initialize("s1", Spec(27015)).ok());
  ASSERT_TRUE(manager_.Initialize("s2", Spec(27017)).ok());
  EXPECT_THAT(manager_.HeldPorts(), ::testing::ElementsAre(27015, 27017));
}

TEST_F(InstanceManagerTest, PortsTakenBeforeARestartStayTaken) {
  ASSERT_TRUE(manager_.Initialize("s1", Spec(27015)).ok());
  InstanceManager restarted(
      layout_, systemd_, game_, clock_,
      {.limits = {.port_first = 27015, .port_last = 27020}, .unit_dir = dir_.Sub("units")},
      [](const std::string&) { return false; });
  EXPECT_THAT(restarted.Initialize("s2", Spec(27015)).status().message(),
              HasSubstr("taken by instance 's1'"));
}

TEST_F(InstanceManagerTest, ConcurrentInitializationsOnOnePortLeaveOneWinner) {
  constexpr int kContenders = 8;
  std::vector<absl::Status> results(kContenders);
  {
    std::vector<std::thread> threads;
    for (int i = 0; i < kContenders; ++i) {
      threads.emplace_back([&, i] {
        results[i] = manager_.Initialize("s" + std::to_string(i), Spec(27015)).status();
      });
    }
    for (std::thread& thread : threads) thread.join();
  }
  int winners = 0;
  for (const absl::Status& status : results) {
    if (status.ok()) {
      ++winners;
    } else {
      EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition) << status;
    }
  }
  EXPECT_EQ(winners, 1);
  // A failed initialization gives back what it reserved.
  EXPECT_TRUE(manager_.Initialize("other", Spec(27016)).ok());
}

TEST_F(InstanceManagerTest, InitializeRendersAStoppedInstanceReadyToMount) {
  InstallBuild("9000001");
  ASSERT_TRUE(manager_.Initialize("s1", Spec(27015)).ok());
  EXPECT_THAT(Read("instances/s1/lower"), HasSubstr("installation/9000001"));
  EXPECT_THAT(Read("instances/s1/layer/left4dead2/cfg/server.cfg"), HasSubstr("rcon_password"));
  // A running instance's files are left alone: the new spec waits for its next start.
  ASSERT_TRUE(manager_.Start("s1").ok());
  v1::InstanceSpec changed = Spec(27015);
  changed.set_max_players(4);
  absl::StatusOr<v1::Instance> updated = manager_.Initialize("s1", changed);
  ASSERT_TRUE(updated.ok()) << updated.status();
  EXPECT_TRUE(updated->status().restart_pending());
  EXPECT_THAT(Read("instances/s1/unit.env"), ::testing::Not(HasSubstr("maxplayers 4")));
}

TEST_F(InstanceManagerTest, ALostRconPasswordIsMadeAgainBeforeTheStart) {
  ASSERT_TRUE(manager_.Initialize("s1", Spec(27015)).ok());
  // Written without fsync at initialization: a crash of the machine may leave it empty.
  std::ofstream(layout_.instances_dir() + "/s1/rcon_password", std::ios::trunc);
  EXPECT_EQ(manager_.RconPassword("s1").status().code(), absl::StatusCode::kNotFound);
  InstallBuild("9000001");
  ASSERT_TRUE(manager_.Start("s1").ok());
  absl::StatusOr<std::string> password = manager_.RconPassword("s1");
  ASSERT_TRUE(password.ok()) << password.status();
  EXPECT_EQ(password->size(), 24u);
  EXPECT_THAT(Read("instances/s1/layer/left4dead2/cfg/server.cfg"), HasSubstr(*password));
}

TEST_F(InstanceManagerTest, StartBeforeInstallIsAPreconditionFailure) {
  ASSERT_TRUE(manager_.Initialize("s1", Spec(27015)).ok());
  EXPECT_EQ(manager_.Start("s1").status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(systemd_.calls().empty());
}

TEST_F(InstanceManagerTest, StartPinsVersionsAndWritesWhatTheUnitNeeds) {
  InstallBuild("9000001");
  AddOverlay("competitive/base", "3", "hostname \"from the overlay\"\n");
  v1::InstanceSpec spec = Spec(27016);
  v1::OverlayLayer* overlay = spec.add_overlays();
  overlay->set_ref("competitive/base");
  overlay->set_exec_server_cfg(true);
  ASSERT_TRUE(manager_.Initialize("s1", spec).ok());
  absl::StatusOr<v1::Instance> started = manager_.Start("s1");
  ASSERT_TRUE(started.ok()) << started.status();
  EXPECT_THAT(systemd_.calls(), ::testing::Contains("start left4me-server@s1.service"));
  EXPECT_EQ(Read("instances/s1/lower"),
            "instances/s1/layer\noverlays/competitive+base/3\ninstallation/9000001\n");
  EXPECT_EQ(Read("instances/s1/installation"), "9000001\n");
  EXPECT_THAT(Read("instances/s1/unit.env"), HasSubstr("-port 27016 +ip 0.0.0.0"));
  std::string cfg = Read("instances/s1/layer/left4dead2/cfg/server.cfg");
  EXPECT_THAT(cfg, HasSubstr("rcon_password \"" + *manager_.RconPassword("s1") + "\""));
  EXPECT_THAT(cfg, HasSubstr("exec server_competitive_base.cfg\n"));
  EXPECT_EQ(Read("instances/s1/layer/left4dead2/cfg/server_competitive_base.cfg"),
            "hostname \"from the overlay\"\n");
  // Default restart policy and limits: the template covers them, no drop-in, no reload.
  EXPECT_FALSE(fs::exists(dir_.Sub("units/left4me-server@s1.service.d")));
  EXPECT_EQ(systemd_.reloads(), 0);
  ASSERT_EQ(started->layers_size(), 1);
  EXPECT_EQ(started->layers(0).version(), "3");
  EXPECT_EQ(started->build_id(), "9000001");
  EXPECT_EQ(layout_.PinnedInstallations(), std::set<std::string>{"9000001"});

  // Limits need a drop-in, and systemd must reload it before the start.
  spec.mutable_resources()->set_memory_max_bytes(2ull << 30);
  ASSERT_TRUE(manager_.Initialize("s1", spec).ok());
  ASSERT_TRUE(manager_.Restart("s1").ok());
  EXPECT_THAT(*ReadFileToString(dir_.Sub("units/left4me-server@s1.service.d/50-instance.conf")),
              HasSubstr("MemoryMax=2147483648"));
  EXPECT_EQ(systemd_.reloads(), 1);

  // A new overlay version and a new build reach the instance on its next start only.
  AddOverlay("competitive/base", "4", "hostname \"v4\"\n");
  InstallBuild("9000002");
  EXPECT_EQ(Read("instances/s1/lower"),
            "instances/s1/layer\noverlays/competitive+base/3\ninstallation/9000001\n");
  ASSERT_TRUE(manager_.Restart("s1").ok());
  EXPECT_EQ(Read("instances/s1/lower"),
            "instances/s1/layer\noverlays/competitive+base/4\ninstallation/9000002\n");
}

// Issue Isolation, 4: the agent (root) reads each overlay's own server.cfg into a file the
// server reads. A link chain through "x -> ." that escapes the version is refused at start, and
// nothing of the file it points at is copied.
TEST_F(InstanceManagerTest, AnOverlaysServerCfgIsReadInsideItsVersionOnly) {
  InstallBuild("9000001");
  AddOverlay("evil", "1", "hostname evil\n");
  v1::InstanceSpec spec = Spec(27016);
  spec.add_overlays()->set_ref("evil");
  ASSERT_TRUE(manager_.Initialize("s1", spec).ok());
  const std::string secret = dir_.Sub("secret");
  ASSERT_TRUE(WriteFileAtomically(secret, "rcon_password \"of another server\"", 0600).ok());
  const std::string cfg = layout_.overlay_dir("evil") + "/1/left4dead2/cfg";
  fs::remove(cfg + "/server.cfg");
  fs::create_symlink(".", cfg + "/x");
  fs::create_symlink("x/x/x/../../../../../../secret", cfg + "/server.cfg");
  ASSERT_EQ(*ReadFileToString(cfg + "/server.cfg"), "rcon_password \"of another server\"");
  const std::string copy = layout_.root() + "/instances/s1/layer/left4dead2/cfg/server_evil.cfg";
  ASSERT_EQ(*ReadFileToString(copy), "hostname evil\n");
  for (bool start : {true, false}) {
    absl::StatusOr<v1::Instance> refused =
        start ? manager_.Start("s1") : manager_.Initialize("s1", spec);
    EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition) << refused.status();
    EXPECT_THAT(std::string(refused.status().message()), HasSubstr("outside"));
    EXPECT_FALSE(fs::exists(copy));
  }
  EXPECT_THAT(systemd_.calls(),
              ::testing::Not(::testing::Contains("start left4me-server@s1.service")));
}

// One account per server (issue Isolation, 2 and 6), from a pool read through ServerUsers.
class FakeServerUsers final : public ServerUsers {
 public:
  std::vector<ServerAccount> pool;
  absl::StatusOr<std::vector<ServerAccount>> Pool(const std::string& prefix) override {
    std::vector<ServerAccount> matching;
    for (const ServerAccount& account : pool) {
      if (account.name.rfind(prefix, 0) == 0) matching.push_back(account);
    }
    return matching;
  }
};

class InstanceAccountsTest : public InstanceManagerTest {
 protected:
  InstanceAccountsTest() {
    // This process's own ids: chown to them works without root.
    users_.pool = {{.name = "srv-a", .uid = ::getuid(), .gid = ::getgid()},
                   {.name = "srv-b", .uid = ::getuid(), .gid = ::getgid()},
                   {.name = "other", .uid = ::getuid(), .gid = ::getgid()}};
  }
  FakeServerUsers users_;
  InstanceManager owned_{layout_,
                         systemd_,
                         game_,
                         clock_,
                         {.limits = {.port_first = 27015, .port_last = 27020},
                          .unit_dir = dir_.Sub("units"),
                          .server_users = "srv-",
                          .accounts = &users_},
                         [this](const std::string&) { return mounted_; }};
};

TEST_F(InstanceAccountsTest, EachInstanceHasAnAccountOfThePoolForItsLife) {
  InstallBuild("9000001");
  fs::create_directories(layout_.installation_dir() + "/9000001/left4dead2/cfg");
  ASSERT_TRUE(owned_.Initialize("s1", Spec(27015)).ok());
  ASSERT_TRUE(owned_.Initialize("s2", Spec(27016)).ok());
  EXPECT_EQ(owned_.Record("s1")->account(), "srv-a");
  EXPECT_EQ(owned_.Record("s2")->account(), "srv-b");
  // The pool is used up: refused, nothing of s3 written.
  absl::StatusOr<v1::Instance> third = owned_.Initialize("s3", Spec(27017));
  EXPECT_EQ(third.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(third.status().message()), HasSubstr("no free server account"));
  EXPECT_FALSE(fs::exists(layout_.instances_dir() + "/s3"));
  // Kept across initializations and starts; given back by Delete.
  ASSERT_TRUE(owned_.Initialize("s1", Spec(27015)).ok());
  ASSERT_TRUE(owned_.Start("s1").ok());
  EXPECT_EQ(owned_.Record("s1")->account(), "srv-a");
  ASSERT_TRUE(owned_.Delete("s2").ok());
  ASSERT_TRUE(owned_.Initialize("s3", Spec(27017)).ok());
  EXPECT_EQ(owned_.Record("s3")->account(), "srv-b");

  // What the unit needs: User= in the drop-in; server.cfg the account's alone; the instance
  // directory root's alone; the runtime directory the account's; the install's directories
  // made its own in the writable layer.
  EXPECT_THAT(*ReadFileToString(dir_.Sub("units/left4me-server@s1.service.d/50-instance.conf")),
              HasSubstr("\nUser=srv-a\n"));
  const auto mode = [](const std::string& path) {
    return fs::status(path).permissions() & fs::perms::all;
  };
  EXPECT_EQ(mode(layout_.instances_dir() + "/s1/layer/left4dead2/cfg/server.cfg"),
            fs::perms::owner_read | fs::perms::owner_write);
  EXPECT_EQ(mode(layout_.instances_dir() + "/s1"), fs::perms::owner_all);
  EXPECT_EQ(mode(layout_.runtime_dir() + "/s1"), fs::perms::owner_all);
  EXPECT_TRUE(fs::is_directory(layout_.runtime_dir() + "/s1/upper/left4dead2/cfg"));
  EXPECT_THAT(systemd_.calls(), ::testing::Contains("start left4me-server@s1.service"));
}

// An instance initialized before servers had accounts (no account in its record) gets one at
// its next start, never running as the manager's user under the new template.
TEST_F(InstanceAccountsTest, AnInstanceFromBeforeAccountsGetsOneAtItsNextStart) {
  InstallBuild("9000001");
  ASSERT_TRUE(manager_.Initialize("old", Spec(27015)).ok());  // the agent without accounts
  EXPECT_EQ(owned_.Record("old")->account(), "");
  ASSERT_TRUE(owned_.Start("old").ok());
  EXPECT_EQ(owned_.Record("old")->account(), "srv-a");
  EXPECT_THAT(*ReadFileToString(dir_.Sub("units/left4me-server@old.service.d/50-instance.conf")),
              HasSubstr("\nUser=srv-a\n"));
  // A pool with no free account: the start is refused, nothing runs as root.
  users_.pool.resize(1);
  ASSERT_TRUE(manager_.Initialize("older", Spec(27016)).ok());
  absl::StatusOr<v1::Instance> refused = owned_.Start("older");
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(systemd_.calls(),
              ::testing::Not(::testing::Contains("start left4me-server@older.service")));
}

// Issue Scale: a report of 50 instances, 20 of them running but not answering A2S yet (a
// mass restart), takes about one A2S timeout, not twenty (about 10 s before).
TEST_F(InstanceManagerTest, ListingQueriesTheGamesTogether) {
  InstanceManager manager(layout_, systemd_, game_, clock_,
                          {.limits = {.port_first = 27015, .port_last = 27099},
                           .a2s_timeout = absl::Milliseconds(500),
                           .unit_dir = dir_.Sub("units"),
                           .ports = &probe_},
                          [](const std::string&) { return true; });
  for (int i = 0; i < 50; ++i) {
    const std::string name = absl::StrCat("s", i);
    ASSERT_TRUE(manager.Initialize(name, Spec(27015 + i)).ok());
    UnitFacts running;
    running.active_state = "active";
    running.sub_state = "running";
    running.main_pid = 1000 + i;
    systemd_.Set(absl::StrCat("left4me-server@", name, ".service"), running);
    if (i % 5 < 2) game_.silent_ports.insert(27015 + i);
  }
  const int facts_before = systemd_.facts_calls();
  const absl::Time started = absl::Now();
  absl::StatusOr<v1::ListInstancesResponse> listed = manager.List(/*include_game_status=*/true);
  const absl::Duration took = absl::Now() - started;
  ASSERT_TRUE(listed.ok()) << listed.status();
  ASSERT_EQ(listed->instances_size(), 50);
  // Every unit's facts in one exchange with the manager, not one per instance.
  EXPECT_EQ(systemd_.facts_calls() - facts_before, 1);
  int reachable = 0;
  for (const v1::Instance& instance : listed->instances()) {
    reachable += instance.status().game().reachable();
    EXPECT_EQ(instance.status().unit().main_pid() - 1000,
              std::stoi(instance.name().substr(1)));  // in name order, each its own
  }
  EXPECT_EQ(reachable, 30);
  std::cout << "[ figure ] ListInstances of 50 running, 20 not answering A2S (500 ms timeout): "
            << absl::FormatDuration(took) << " (target 600ms)\n";
  EXPECT_LT(took, absl::Milliseconds(600));
}

TEST_F(InstanceManagerTest, StatusCombinesTheUnitAndTheGame) {
  InstallBuild("9000001");
  ASSERT_TRUE(manager_.Initialize("s1", Spec(27017)).ok());
  ASSERT_TRUE(manager_.Start("s1").ok());
  absl::StatusOr<v1::Instance> running = manager_.Get("s1", /*include_players=*/true);
  ASSERT_TRUE(running.ok());
  EXPECT_EQ(running->status().state(), v1::INSTANCE_STATE_RUNNING);
  EXPECT_EQ(running->status().game().name(), "port 27017");
  EXPECT_EQ(running->status().game().player_list(0).name(), "Zoey");
  EXPECT_GT(running->status().unit().main_pid(), 0);
  EXPECT_EQ(running->status().observed_at().seconds(), absl::ToUnixSeconds(clock_.Now()));
  // Reads within a second share one observation; after it, systemd and the game are asked
  // again.
  game_.answers = false;
  EXPECT_EQ(manager_.Get("s1", true)->status().game().name(), "port 27017");
  EXPECT_EQ(manager_.Cached("s1", true)->status().game().name(), "port 27017");
  EXPECT_FALSE(manager_.Cached("s1", false).has_value());
  clock_.Advance(absl::Seconds(1));
  EXPECT_FALSE(manager_.Cached("s1", true).has_value());
  EXPECT_EQ(manager_.Get("s1", false)->status().state(), v1::INSTANCE_STATE_STARTING);
  UnitFacts crash_loop;
  crash_loop.active_state = "failed";
  crash_loop.result = "start-limit-hit";
  systemd_.Set("left4me-server@s1.service", crash_loop);
  clock_.Advance(absl::Seconds(1));
  EXPECT_EQ(manager_.Get("s1", false)->status().state(), v1::INSTANCE_STATE_CRASH_LOOP);
  // Failed with a policy that would restart: systemd gave up, a crash loop too.
  UnitFacts gave_up;
  gave_up.active_state = "failed";
  gave_up.result = "exit-code";
  systemd_.Set("left4me-server@s1.service", gave_up);
  clock_.Advance(absl::Seconds(1));
  EXPECT_EQ(manager_.Get("s1", false)->status().state(), v1::INSTANCE_STATE_CRASH_LOOP);
  UnitFacts restarting;
  restarting.active_state = "activating";
  restarting.sub_state = "auto-restart";
  systemd_.Set("left4me-server@s1.service", restarting);
  clock_.Advance(absl::Seconds(1));
  EXPECT_EQ(manager_.Get("s1", false)->status().state(), v1::INSTANCE_STATE_CRASHED);
  // The agent's own change ends the observation at once.
  ASSERT_TRUE(manager_.Get("s1", false).ok());
  ASSERT_TRUE(manager_.Stop("s1").ok());
  EXPECT_FALSE(manager_.Cached("s1", false).has_value());
  EXPECT_EQ(manager_.Get("s1", false)->status().state(), v1::INSTANCE_STATE_STOPPED);
  EXPECT_EQ(manager_.Get("nope", false).status().code(), absl::StatusCode::kNotFound);
}

// Hang detection (issue Automation): a game that answered A2S and then went silent for its
// spec's hang grace is HUNG; one that never answered since its process started is booting
// (STARTING), however long; a new process starts afresh; a grace of 0 turns it off.
TEST_F(InstanceManagerTest, AGameSilentForItsGraceAfterAnsweringIsHungButABootingOneIsNot) {
  InstallBuild("9000001");
  v1::InstanceSpec spec = Spec(27017);
  spec.mutable_restart()->mutable_hang_grace()->set_seconds(30);
  ASSERT_TRUE(manager_.Initialize("s1", spec).ok());
  game_.answers = false;
  ASSERT_TRUE(manager_.Start("s1").ok());
  auto state = [&] {
    clock_.Advance(absl::Seconds(1));  // past the shared observation
    return manager_.Get("s1", false)->status().state();
  };
  clock_.Advance(absl::Minutes(5));
  EXPECT_EQ(state(), v1::INSTANCE_STATE_STARTING);  // never answered: still booting
  game_.answers = true;
  EXPECT_EQ(state(), v1::INSTANCE_STATE_RUNNING);
  game_.answers = false;
  clock_.Advance(absl::Seconds(27));
  EXPECT_EQ(state(), v1::INSTANCE_STATE_STARTING);  // 28 s silent: within the grace
  clock_.Advance(absl::Seconds(1));
  EXPECT_EQ(state(), v1::INSTANCE_STATE_HUNG);  // 30 s
  // Another process (restarted): booting again, not hung.
  UnitFacts restarted;
  restarted.active_state = "active";
  restarted.sub_state = "running";
  restarted.main_pid = 4242;
  systemd_.Set("left4me-server@s1.service", restarted);
  clock_.Advance(absl::Minutes(5));
  EXPECT_EQ(state(), v1::INSTANCE_STATE_STARTING);
  // Without hang detection a silent game is only "not answering".
  v1::InstanceSpec off = Spec(27019);
  off.mutable_restart()->mutable_hang_grace()->set_seconds(0);
  ASSERT_TRUE(manager_.Initialize("s3", off).ok());
  ASSERT_TRUE(manager_.Start("s3").ok());
  game_.answers = true;
  clock_.Advance(absl::Seconds(1));
  EXPECT_EQ(manager_.Get("s3", false)->status().state(), v1::INSTANCE_STATE_RUNNING);
  game_.answers = false;
  clock_.Advance(absl::Hours(1));
  EXPECT_EQ(manager_.Get("s3", false)->status().state(), v1::INSTANCE_STATE_STARTING);
}

TEST_F(InstanceManagerTest, ResetWipesTheWritableLayerButKeepsTheSpec) {
  ASSERT_TRUE(manager_.Initialize("s1", Spec(27015)).ok());
  std::ofstream(layout_.runtime_dir() + "/s1/upper/written-by-game.txt") << "x";
  ASSERT_TRUE(manager_.Reset("s1").ok());
  EXPECT_TRUE(fs::is_empty(layout_.runtime_dir() + "/s1/upper"));
  EXPECT_TRUE(manager_.Record("s1").ok());
  mounted_ = true;  // Never wipe through a live mount.
  EXPECT_EQ(manager_.Reset("s1").status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(InstanceManagerTest, DeleteRemovesEverythingAndAMissingInstanceIsFine) {
  InstallBuild("9000001");
  ASSERT_TRUE(manager_.Initialize("s1", Spec(27015)).ok());
  ASSERT_TRUE(manager_.Start("s1").ok());
  absl::StatusOr<bool> deleted = manager_.Delete("s1");
  ASSERT_TRUE(deleted.ok()) << deleted.status();
  EXPECT_TRUE(*deleted);
  EXPECT_THAT(systemd_.calls(), ::testing::Contains("stop left4me-server@s1.service"));
  EXPECT_FALSE(fs::exists(layout_.instances_dir() + "/s1"));
  EXPECT_FALSE(fs::exists(layout_.runtime_dir() + "/s1"));
  EXPECT_FALSE(fs::exists(dir_.Sub("units/left4me-server@s1.service.d")));
  absl::StatusOr<bool> again = manager_.Delete("s1");
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(*again);
}

TEST_F(InstanceManagerTest, ListReportsInstancesAndOrphans) {
  ASSERT_TRUE(manager_.Initialize("b", Spec(27016)).ok());
  ASSERT_TRUE(manager_.Initialize("a", Spec(27015)).ok());
  fs::create_directories(layout_.runtime_dir() + "/ghost/merged");
  systemd_.Set("left4me-server@zombie.service", UnitFacts{.active_state = "active"});
  // Stopped and not yet collected by systemd (an instance just deleted): not an orphan.
  systemd_.Set("left4me-server@deleted.service", UnitFacts{.active_state = "inactive"});
  absl::StatusOr<v1::ListInstancesResponse> list = manager_.List(false);
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->instances_size(), 2);
  EXPECT_EQ(list->instances(0).name(), "a");
  ASSERT_EQ(list->orphans_size(), 2);
  EXPECT_EQ(list->orphans(0).kind(), v1::Orphan::KIND_UNIT);
  EXPECT_EQ(list->orphans(1).kind(), v1::Orphan::KIND_DIRECTORY);
}

}  // namespace
}  // namespace l4d2::agent
