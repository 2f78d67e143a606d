// The whole agent in-process, built from a config as l4d2-agent's main builds it: it serves the
// agent's RPCs on its listeners and stops cleanly; a missing helper refuses it before anything
// serves; and what it takes from the environment, as a pure function.

#include "agent/process/agent_process.h"

#include <filesystem>
#include <map>

#include "absl/strings/str_cat.h"
#include "ctl/agent_channel.h"
#include "gmock/gmock.h"
#include "grpcpp/client_context.h"
#include "gtest/gtest.h"
#include "l4d2/agent/v1/agent_service.grpc.pb.h"
#include "tests/testing/temp_dir.h"

namespace l4d2::agent {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

EnvironmentLookup Env(std::map<std::string, std::string> values) {
  return [values = std::move(values)](const char* name) -> const char* {
    auto it = values.find(name);
    return it == values.end() ? nullptr : it->second.c_str();
  };
}

TEST(AgentEnvironmentTest, TheConfigWinsThenTheEnvironmentThenTheDefaults) {
  AgentConfig config;
  AgentEnvironment system = EnvironmentFor(config, Env({}));
  EXPECT_EQ(system.steam_home, "/root");
  EXPECT_THAT(system.systemctl_command, ElementsAre("/usr/bin/systemctl"));
  EXPECT_EQ(system.systemd_bus_address, "unix:path=/run/systemd/private");
  EXPECT_THAT(system.systemd_run, ElementsAre("/usr/bin/systemd-run"));
  EXPECT_THAT(system.fetch_env, IsEmpty());

  config.systemd_user_manager = true;
  AgentEnvironment user = EnvironmentFor(config, Env({{"HOME", "/home/l"},
                                                      {"XDG_RUNTIME_DIR", "/run/user/7"},
                                                      {"https_proxy", "http://proxy:3128"},
                                                      {"SSL_CERT_FILE", "/etc/ca.pem"},
                                                      {"SECRET", "never passed on"}}));
  EXPECT_EQ(user.steam_home, "/home/l");
  EXPECT_THAT(user.systemctl_command, ElementsAre("/usr/bin/systemctl", "--user"));
  EXPECT_EQ(user.systemd_bus_address, "unix:path=/run/user/7/systemd/private");
  EXPECT_THAT(user.systemctl_env, ElementsAre("XDG_RUNTIME_DIR=/run/user/7", "HOME=/home/l"));
  EXPECT_THAT(user.systemd_run, ElementsAre("/usr/bin/systemd-run", "--user"));
  EXPECT_THAT(user.fetch_env,
              ElementsAre("https_proxy=http://proxy:3128", "SSL_CERT_FILE=/etc/ca.pem"));

  config.steam_home = "/srv/steam";
  config.systemctl_command = "/usr/bin/sudo -n /usr/libexec/left4me/left4me-systemctl";
  config.systemd_run_command = "/usr/bin/sudo -n /usr/bin/systemd-run";
  AgentEnvironment wrapped = EnvironmentFor(config, Env({{"HOME", "/home/l"}}));
  EXPECT_EQ(wrapped.steam_home, "/srv/steam");
  EXPECT_THAT(wrapped.systemctl_command,
              ElementsAre("/usr/bin/sudo", "-n", "/usr/libexec/left4me/left4me-systemctl"));
  EXPECT_THAT(wrapped.systemd_run, ElementsAre("/usr/bin/sudo", "-n", "/usr/bin/systemd-run"));
}

class AgentProcessTest : public ::testing::Test {
 protected:
  AgentConfig Config() {
    AgentConfig config;
    config.root = dir_.Sub("root");
    config.listen_tcp = "127.0.0.1:0";
    config.plaintext_tcp = true;
    config.listen_unix = dir_.Sub("agent.sock");
    config.unit_dir = dir_.Sub("units");
    config.steamcmd = L4D2_FAKE_STEAMCMD;
    config.systemd_user_manager = true;
    config.server_users = "";
    config.unit_hardening = false;
    config.overlay_helper = L4D2_OVERLAY_HELPER;
    config.console_helper = L4D2_CONSOLE_HELPER;
    config.fetch_helper = L4D2_FETCH_HELPER;
    config.fetch_user = "";
    return config;
  }
  // No user manager answers there: writing the unit template only warns.
  EnvironmentLookup Environment() {
    return Env({{"HOME", dir_.Sub("home")}, {"XDG_RUNTIME_DIR", dir_.Sub("run")}});
  }

  l4d2::testing::TempDir dir_;
};

TEST_F(AgentProcessTest, ServesTheAgentOnItsListenersAndStops) {
  absl::StatusOr<std::unique_ptr<AgentProcess>> agent =
      AgentProcess::Create(Config(), Environment());
  ASSERT_TRUE(agent.ok()) << agent.status();
  EXPECT_EQ((*agent)->tcp_port(), 0);
  ASSERT_TRUE((*agent)->Start().ok());
  ASSERT_GT((*agent)->tcp_port(), 0);
  for (const std::string& address : {absl::StrCat("unix:", dir_.Sub("agent.sock")),
                                     absl::StrCat("127.0.0.1:", (*agent)->tcp_port())}) {
    SCOPED_TRACE(address);
    auto stub = v1::AgentService::NewStub(ctl::MakeAgentChannel(address));
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    v1::HostInfo info;
    grpc::Status status = stub->GetHostInfo(&context, v1::GetHostInfoRequest(), &info);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_FALSE(info.hostname().empty());
    EXPECT_EQ(info.root(), dir_.Sub("root"));
    EXPECT_EQ(info.port_range().first(), 27015);
  }
  // The root's layout was made.
  EXPECT_TRUE(std::filesystem::is_directory(dir_.Sub("root/instances")));
  (*agent)->Shutdown(absl::Seconds(1));
  auto stub = v1::AgentService::NewStub(
      ctl::MakeAgentChannel(absl::StrCat("unix:", dir_.Sub("agent.sock"))));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(500));
  v1::HostInfo info;
  EXPECT_FALSE(stub->GetHostInfo(&context, v1::GetHostInfoRequest(), &info).ok());
}

// With an account per server, a root the accounts cannot reach (this test's directory is 0700,
// as mkdtemp makes it) is refused at start, naming the directory, instead of failing every
// server's start with 226/CHDIR.
TEST_F(AgentProcessTest, ARootTheServersAccountsCannotReachIsRefused) {
  AgentConfig config = Config();
  config.server_users = "left4me-server-";
  ::chmod(dir_.path().c_str(), 0700);
  absl::StatusOr<std::unique_ptr<AgentProcess>> agent = AgentProcess::Create(config, Environment());
  EXPECT_EQ(agent.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(agent.status().message()),
              ::testing::HasSubstr(absl::StrCat("'", dir_.path(), "' does not let others pass")));
  EXPECT_FALSE(std::filesystem::exists(dir_.Sub("root")));  // nothing made
  ::chmod(dir_.path().c_str(), 0755);
  agent = AgentProcess::Create(config, Environment());
  EXPECT_TRUE(agent.ok()) << agent.status();
}

TEST_F(AgentProcessTest, AMissingHelperRefusesItBeforeAnythingIsMade) {
  AgentConfig config = Config();
  config.console_helper = dir_.Sub("missing/left4me-console");
  absl::StatusOr<std::unique_ptr<AgentProcess>> agent = AgentProcess::Create(config, Environment());
  EXPECT_TRUE(absl::IsFailedPrecondition(agent.status())) << agent.status();
  EXPECT_THAT(agent.status().message(), HasSubstr("systemd.console_helper"));
  EXPECT_FALSE(std::filesystem::exists(dir_.Sub("root")));
}

TEST_F(AgentProcessTest, AListenerThatCannotBeBoundIsAnErrorOfStart) {
  AgentConfig config = Config();
  config.listen_unix = dir_.Sub("no/such/dir/agent.sock");
  absl::StatusOr<std::unique_ptr<AgentProcess>> agent = AgentProcess::Create(config, Environment());
  ASSERT_TRUE(agent.ok()) << agent.status();
  EXPECT_FALSE((*agent)->Start().ok());
}

}  // namespace
}  // namespace l4d2::agent
