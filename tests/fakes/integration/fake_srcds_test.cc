// The fake srcds behaves like the real server where the agent depends on it. It is driven here
// through the agent's own A2S and RCON client (agent/os/linux), so the two implementations of
// each protocol check each other.

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "agent/game/a2s.h"
#include "agent/game/rcon.h"
#include "agent/os/linux/linux_game_client.h"
#include "agent/os/linux/udp_log_socket.h"
#include "agent/players/game_log_service.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/child_process.h"
#include "tests/testing/eventually.h"
#include "tests/testing/net.h"
#include "tests/testing/temp_dir.h"

namespace l4d2::testing {
namespace {

using ::l4d2::agent::A2sInfo;
using ::l4d2::agent::GameAddress;
using ::testing::HasSubstr;

constexpr char kPassword[] = "rcon-Secret-1";

class FakeSrcdsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    install_ = new std::string(dir_->Sub("install"));
    // Install the fake game with the fake steamcmd, as the agent will.
    for (const char* platform : {"windows", "linux"}) {
      int status = 0;
      absl::StatusOr<std::string> out = RunToCompletion(
          {.argv = {L4D2_FAKE_STEAMCMD, "+force_install_dir", *install_, "+login", "anonymous",
                    "+@sSteamCmdForcePlatformType", platform, "+app_update", "222860", "+quit"},
           .env = {{"HOME", dir_->Sub("home")}, {"FAKE_STEAMCMD_STATE", dir_->Sub("state")}}},
          &status);
      ASSERT_TRUE(out.ok() && status == 0) << (out.ok() ? *out : out.status().ToString());
    }
    std::ofstream(*install_ + "/left4dead2/cfg/server.cfg")
        << "// written by the test\n"
        << "hostname \"Fake Server; One\"\n"
        << "rcon_password \"" << kPassword << "\"; sv_steamgroup 42\n"
        << "exec server_extra.cfg\n";
    std::ofstream(*install_ + "/left4dead2/cfg/server_extra.cfg") << "sv_password \"join-me\"\n";
  }
  static void TearDownTestSuite() {
    delete install_;
    delete dir_;
  }

  // Starts srcds_run as a unit would: from the install root, with -norestart.
  std::unique_ptr<ChildProcess> Start(std::map<std::string, std::string> env = {},
                                      std::vector<std::string> extra = {}) {
    port_ = FreeGamePort();
    std::vector<std::string> argv = {
        *install_ + "/srcds_run", "-game",       "left4dead2", "-port",
        std::to_string(port_),    "+ip",         "127.0.0.1",  "+map",
        "c2m1_highway",           "-maxplayers", "6",          "-norestart",
        "-strictportbind"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    absl::StatusOr<std::unique_ptr<ChildProcess>> child =
        ChildProcess::Start({.argv = argv, .env = env, .cwd = *install_});
    EXPECT_TRUE(child.ok());
    return *std::move(child);
  }

  GameAddress address() const { return {"127.0.0.1", port_}; }

  absl::StatusOr<std::string> Rcon(const std::string& command,
                                   const std::string& password = kPassword) {
    return client_.RconExecute(address(), password, command, absl::Seconds(5));
  }

  static TempDir* dir_;
  static std::string* install_;
  int port_ = 0;
  agent::LinuxGameClient client_;
};

TempDir* FakeSrcdsTest::dir_ = nullptr;
std::string* FakeSrcdsTest::install_ = nullptr;

TEST_F(FakeSrcdsTest, PrintsTheRealReadyLine) {
  auto server = Start();
  ASSERT_TRUE(server->WaitForOutput("Connection to Steam servers successful."));
  EXPECT_THAT(server->Output(), HasSubstr("execing server.cfg"));
  EXPECT_THAT(server->Output(), HasSubstr("execing server_extra.cfg"));
}

TEST_F(FakeSrcdsTest, InfoRequestWithoutTheChallengeGetsOnlyAChallenge) {
  auto server = Start();
  ASSERT_TRUE(server->WaitForOutput("Connection to Steam servers successful."));
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(static_cast<uint16_t>(port_));
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval timeout{2, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  auto exchange = [&](const std::string& request) {
    sendto(fd, request.data(), request.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof(to));
    char buffer[1400];
    ssize_t n = recv(fd, buffer, sizeof(buffer), 0);
    return agent::ParseA2sReply(std::string(buffer, n > 0 ? static_cast<size_t>(n) : 0));
  };
  absl::StatusOr<agent::A2sReply> first = exchange(agent::BuildA2sInfoRequest(std::nullopt));
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->kind, agent::A2sReply::Kind::kChallenge);
  absl::StatusOr<agent::A2sReply> wrong =
      exchange(agent::BuildA2sInfoRequest(first->challenge ^ 1));
  ASSERT_TRUE(wrong.ok());
  EXPECT_EQ(wrong->kind, agent::A2sReply::Kind::kChallenge);
  absl::StatusOr<agent::A2sReply> info = exchange(agent::BuildA2sInfoRequest(first->challenge));
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->kind, agent::A2sReply::Kind::kInfo);
  close(fd);
}

TEST_F(FakeSrcdsTest, InfoCarriesArgumentsAndServerCfg) {
  auto server = Start();
  ASSERT_TRUE(server->WaitForOutput("Connection to Steam servers successful."));
  absl::StatusOr<A2sInfo> info = client_.QueryInfo(address(), absl::Seconds(2));
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->name, "Fake Server; One");  // A quoted ';' stays in the value.
  EXPECT_EQ(info->map, "c2m1_highway");
  EXPECT_EQ(info->max_players, 6);
  EXPECT_EQ(info->players, 0);
  EXPECT_EQ(info->folder, "left4dead2");
  EXPECT_EQ(info->app_id, 550);
  EXPECT_EQ(info->server_type, 'd');
  EXPECT_EQ(info->environment, 'l');
  EXPECT_TRUE(info->password);  // From the exec'd server_extra.cfg.
  EXPECT_EQ(*info->port, port_);
}

TEST_F(FakeSrcdsTest, RconStatusWorksAfterAuth) {
  auto server = Start({{"FAKE_SRCDS_PLAYERS", "2"}});
  ASSERT_TRUE(server->WaitForOutput("Connection to Steam servers successful."));
  absl::StatusOr<std::string> status = Rcon("status");
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_THAT(*status, HasSubstr("hostname: Fake Server; One"));
  EXPECT_THAT(*status, HasSubstr("map     : c2m1_highway"));
  EXPECT_THAT(*status, HasSubstr("players : 2 humans, 0 bots (6 max)"));
  EXPECT_THAT(*status, HasSubstr("\"Player1\" STEAM_1:0:"));
  EXPECT_TRUE(server->WaitForOutput("command \"status\""));
}

TEST_F(FakeSrcdsTest, AWrongRconPasswordIsRefusedAndRepeatedFailuresBan) {
  auto server = Start();
  ASSERT_TRUE(server->WaitForOutput("Connection to Steam servers successful."));
  absl::StatusOr<std::string> refused = Rcon("status", "wrong");
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kPermissionDenied);
  for (int i = 0; i < 4; ++i) (void)Rcon("status", "wrong");
  ASSERT_TRUE(server->WaitForOutput("for rcon hacking attempts"));
  // Banned: even the right password no longer gets through.
  EXPECT_EQ(Rcon("status").status().code(), absl::StatusCode::kUnavailable);
}

TEST_F(FakeSrcdsTest, PlayersJoinAndShowInA2s) {
  auto server = Start();
  ASSERT_TRUE(server->WaitForOutput("Connection to Steam servers successful."));
  ASSERT_TRUE(Rcon("fake_join Alice; fake_join Bob").ok());
  absl::StatusOr<std::vector<agent::A2sPlayer>> players =
      client_.QueryPlayers(address(), absl::Seconds(2));
  ASSERT_TRUE(players.ok()) << players.status();
  ASSERT_EQ(players->size(), 2u);
  EXPECT_EQ((*players)[0].name, "Alice");
  EXPECT_GE((*players)[1].duration_seconds, 0.0f);
  EXPECT_EQ(client_.QueryInfo(address(), absl::Seconds(2))->players, 2);
  EXPECT_TRUE(server->WaitForOutput("\"Alice<2><STEAM_1:0:1002><>\" entered the game"));
}

// The first IPv4 address of an interface that is up and not loopback ("" when there is none):
// the game refuses to send its log to 127.0.0.0/8.
std::string HostAddress() {
  ifaddrs* all = nullptr;
  if (getifaddrs(&all) != 0) return "";
  std::string found;
  for (ifaddrs* it = all; it != nullptr && found.empty(); it = it->ifa_next) {
    if (it->ifa_addr == nullptr || it->ifa_addr->sa_family != AF_INET ||
        (it->ifa_flags & IFF_UP) == 0 || (it->ifa_flags & IFF_LOOPBACK) != 0) {
      continue;
    }
    char text[INET_ADDRSTRLEN] = "";
    inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(it->ifa_addr)->sin_addr, text, sizeof(text));
    found = text;
  }
  freeifaddrs(all);
  return found;
}

// The fake's log stream, taken by the agent's own listener and service: the two
// implementations of the packet format check each other.
TEST_F(FakeSrcdsTest, SendsItsLogFromItsGamePortWithItsSecret) {
  const std::string ip = HostAddress();
  if (ip.empty()) GTEST_SKIP() << "no non-loopback IPv4 address to listen on";
  auto socket = agent::UdpLogSocket::Open(ip, 0);
  ASSERT_TRUE(socket.ok()) << socket.status();
  agent::GameLogService service(**socket, Clock::Real());
  auto server = Start();
  ASSERT_TRUE(server->WaitForOutput("Connection to Steam servers successful."));
  service.SetSenders({{"vs1", {.port = port_, .secret = "4242"}}});
  const std::string listener = absl::StrCat(ip, ":", (*socket)->port());
  // Loopback is refused; without a secret the lines go out unsigned and are refused here.
  EXPECT_THAT(*Rcon("logaddress_add 127.0.0.1:" + std::to_string((*socket)->port())),
              HasSubstr("cannot receive logs"));
  ASSERT_TRUE(Rcon("logaddress_add " + listener + "; log on").ok());
  ASSERT_TRUE(Rcon("sv_logsecret 4242; fake_join Alice; fake_join Bob; fake_say Alice hello; "
                   "changelevel c5m1_waterfront; fake_leave Bob; fake_update")
                  .ok());
  std::optional<agent::InstancePlayers> players;
  for (int i = 0; i < 100; ++i) {
    service.Poll(absl::Milliseconds(20));
    players = service.Players("vs1");
    if (players.has_value() && players->restart_required) break;
  }
  ASSERT_TRUE(players.has_value());
  ASSERT_EQ(players->players.size(), 1u);
  EXPECT_EQ(players->players[0].player.name, "Alice");
  EXPECT_EQ(players->players[0].player.steam_id, "STEAM_1:0:1002");
  EXPECT_EQ(players->map, "c5m1_waterfront");
  EXPECT_TRUE(players->restart_required);
  std::vector<std::string> events;
  for (const agent::PlayerEvent& event : service.EventsAfter("vs1", 0, 20)) {
    events.push_back(
        absl::StrCat(agent::PlayerEventKindName(event.kind), " ", event.player.name, event.text));
  }
  EXPECT_THAT(events, ::testing::ElementsAre(
                          "player_joined Alice", "player_joined Bob", "map_changed c5m1_waterfront",
                          "player_left BobDisconnect by user.", "restart_required "));
  EXPECT_GE(service.counters().refused, 1);  // "Log file started", before the secret
}

TEST_F(FakeSrcdsTest, LongRconOutputSpansPackets) {
  auto server = Start();
  ASSERT_TRUE(server->WaitForOutput("Connection to Steam servers successful."));
  absl::StatusOr<std::string> output = Rcon("fake_flood 600");
  ASSERT_TRUE(output.ok()) << output.status();
  EXPECT_GT(output->size(), 3 * agent::kRconMaxBody);
  EXPECT_THAT(*output, HasSubstr("fake flood line 1 of 600\n"));
  EXPECT_THAT(*output, HasSubstr("fake flood line 600 of 600\n"));
  // The connection stays usable for the next command.
  EXPECT_THAT(*Rcon("echo still here"), HasSubstr("still here"));
}

TEST_F(FakeSrcdsTest, ChangelevelLoadsTheMapAndRunsServerCfgAgain) {
  auto server = Start();
  ASSERT_TRUE(server->WaitForOutput("Connection to Steam servers successful."));
  ASSERT_TRUE(Rcon("changelevel c5m1_waterfront").ok());
  EXPECT_EQ(client_.QueryInfo(address(), absl::Seconds(2))->map, "c5m1_waterfront");
  absl::StatusOr<std::string> missing = Rcon("changelevel c9m9_nowhere");
  EXPECT_THAT(*missing, HasSubstr("not found"));
}

TEST_F(FakeSrcdsTest, SigintEndsItWithinOneSecond) {
  auto server = Start();
  ASSERT_TRUE(server->WaitForOutput("Connection to Steam servers successful."));
  absl::Time start = absl::Now();
  server->Signal(SIGINT);
  // Like systemd's KillSignal=SIGINT, the signal reaches srcds_run and the server.
  absl::StatusOr<int> status = server->Wait(absl::Seconds(1));
  ASSERT_TRUE(status.ok()) << "still running 1 s after SIGINT";
  EXPECT_LT(absl::Now() - start, absl::Seconds(1));
  // The shell dies of the SIGINT (a clean stop for systemd); the server exits 0 after saying so.
  EXPECT_TRUE((WIFEXITED(*status) && WEXITSTATUS(*status) == 0) ||
              (WIFSIGNALED(*status) && WTERMSIG(*status) == SIGINT));
  ASSERT_TRUE(server->WaitForOutputClosed(absl::Seconds(1)));
  EXPECT_THAT(server->Output(), HasSubstr("Signal SIGINT received, shutting down"));
}

TEST_F(FakeSrcdsTest, QuitOverRconEndsIt) {
  auto server = Start();
  ASSERT_TRUE(server->WaitForOutput("Connection to Steam servers successful."));
  (void)Rcon("quit");
  absl::StatusOr<int> status = server->Wait(absl::Seconds(2));
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(WEXITSTATUS(*status), 0);
}

TEST_F(FakeSrcdsTest, CrashSwitchDiesOfASignal) {
  auto server = Start({{"FAKE_SRCDS_CRASH_AFTER_MS", "100"}});
  absl::StatusOr<int> status = server->Wait(absl::Seconds(5));
  ASSERT_TRUE(status.ok());
  // srcds_run (a shell) reports the child's SIGSEGV as 128 + 11.
  ASSERT_TRUE(WIFEXITED(*status));
  EXPECT_EQ(WEXITSTATUS(*status), 128 + SIGSEGV);
}

TEST_F(FakeSrcdsTest, NotQueryableBeforeItIsOnline) {
  auto server = Start({{"FAKE_SRCDS_BOOT_MS", "400"}});
  ASSERT_TRUE(server->WaitForOutput("Network: IP 127.0.0.1"));
  EXPECT_EQ(client_.QueryInfo(address(), absl::Milliseconds(100)).status().code(),
            absl::StatusCode::kUnavailable);
  ASSERT_TRUE(server->WaitForOutput("Connection to Steam servers successful."));
  EXPECT_TRUE(client_.QueryInfo(address(), absl::Seconds(2)).ok());
}

TEST_F(FakeSrcdsTest, StrictPortBindFailsOnATakenPort) {
  auto first = Start();
  ASSERT_TRUE(first->WaitForOutput("Connection to Steam servers successful."));
  int taken = port_;
  absl::StatusOr<std::unique_ptr<ChildProcess>> second = ChildProcess::Start(
      {.argv = {*install_ + "/srcds_run", "-game", "left4dead2", "-port", std::to_string(taken),
                "+ip", "127.0.0.1", "+map", "c1m1_hotel", "-norestart", "-strictportbind"},
       .cwd = *install_});
  ASSERT_TRUE(second.ok());
  absl::StatusOr<int> status = (*second)->Wait(absl::Seconds(5));
  ASSERT_TRUE(status.ok());
  EXPECT_NE(WEXITSTATUS(*status), 0);
  EXPECT_TRUE((*second)->WaitForOutput("Unable to bind to port"));
}

TEST_F(FakeSrcdsTest, FloodSwitchPrintsEveryLine) {
  auto server = Start({{"FAKE_SRCDS_FLOOD", "20000"}});
  ASSERT_TRUE(server->WaitForOutput("fake flood line 20000 of 20000", absl::Seconds(20)));
}

}  // namespace
}  // namespace l4d2::testing
