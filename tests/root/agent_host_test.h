#pragma once

// Root tier fixture: a real l4d2-agent on a private root, running instances as units of the
// sandboxed systemd manager, mounted by the real overlay helper; l4d2ctl drives it.

#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <regex>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "agent/os/linux/linux_game_client.h"
#include "gtest/gtest.h"
#include "tests/testing/child_process.h"
#include "tests/testing/eventually.h"
#include "tests/testing/net.h"
#include "tests/testing/temp_dir.h"

namespace l4d2::testing {

class AgentHostTest : public ::testing::Test {
 protected:
  void SetUp() override { StartAgent(); }

  // Starts (or restarts) the agent on the same root and configuration, with `env` added to its
  // environment.
  void StartAgent(std::map<std::string, std::string> env = {}) {
    if (getuid() != 0 || std::getenv("L4D2_SANDBOX") == nullptr) {
      GTEST_SKIP() << "root tier: run as root inside tests/sandbox/run";
    }
    if (port_ == 0) port_ = FreeGamePort();
    // As /var/lib is: overlay scripts run as another user, who must reach their directory.
    ::chmod(dir_.path().c_str(), 0755);
    std::ofstream(dir_.Sub("agent.yaml"))
        << "root: " << root_ << "\n"
        << "listen: {tcp: \"\", unix: " << socket_ << "}\n"
        << "steamcmd: " << L4D2_FAKE_STEAMCMD << "\n"
        << "steam: {home: " << dir_.Sub("home") << "}\n"
        << "systemd:\n  scope: user\n  unit_dir: "
        << std::getenv("XDG_RUNTIME_DIR")
        // As production runs it: privileged ("+") when the server has an account of its own.
        << "/systemd/user\n  overlay_helper: " << (server_users_.empty() ? "" : "+")
        << L4D2_OVERLAY_HELPER << "\n  console_helper: " << L4D2_CONSOLE_HELPER
        << "\n  server_users: \"" << server_users_ << "\"\n  hardening: false\n"
        << "ports: {first: " << port_ << ", last: " << port_ + 9 << "}\n"
        << "bind_ip: 127.0.0.1\n"
        << "scripts: {user: nobody}\n"
        << "fetch_helper: " << L4D2_FETCH_HELPER << "\nfetch_user: nobody\n"
        << extra_config_;
    absl::StatusOr<std::unique_ptr<ChildProcess>> agent = ChildProcess::Start(
        {.argv = {L4D2_AGENT_BINARY, "--config", dir_.Sub("agent.yaml")}, .env = std::move(env)});
    ASSERT_TRUE(agent.ok());
    agent_ = *std::move(agent);
    ASSERT_TRUE(agent_->WaitForOutput("serving root")) << agent_->Output();
  }

  void TearDown() override {
    if (agent_ == nullptr) return;
    for (const std::string& name : created_) Ctl({"delete", name});
  }

  std::string Ctl(std::vector<std::string> args, int* code = nullptr) {
    args.insert(args.begin(), {L4D2CTL_BINARY, "--agent", "unix:" + socket_});
    int status = 0;
    absl::StatusOr<std::string> output = RunToCompletion({.argv = args}, &status);
    if (code != nullptr) *code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return output.ok() ? *output : output.status().ToString();
  }

  void WriteSpec(const std::string& file, int port, const std::string& extra) {
    std::ofstream(dir_.Sub(file)) << "port: " << port << "\nhostname: \"Spec " << port
                                  << "\"\nmap: c2m1_highway\nmax_players: 6\n"
                                  << extra;
  }

  // The main PID of an instance's unit ("" when it has none).
  std::string MainPid(const std::string& instance) {
    std::smatch pid;
    const std::string status = Ctl({"status", instance, "--json"});
    return std::regex_search(status, pid, std::regex(R"re("main_pid": ?"?([0-9]+))re"))
               ? pid[1].str()
               : "";
  }

  absl::StatusOr<agent::A2sInfo> Query(int port) {
    agent::LinuxGameClient client;
    absl::StatusOr<agent::A2sInfo> info;
    Eventually([&] {
      info = client.QueryInfo({"127.0.0.1", port}, absl::Milliseconds(300));
      return info.ok();
    });
    return info;
  }

  std::string Lower(const std::string& name) {
    std::ifstream in(root_ + "/instances/" + name + "/lower");
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  }

  TempDir dir_;
  std::string root_ = dir_.Sub("root");
  std::string socket_ = dir_.Sub("agent.sock");
  int port_ = 0;
  std::unique_ptr<ChildProcess> agent_;
  // Instances the test made; deleted at the end.
  std::vector<std::string> created_ = {"s1", "s2"};
  // Set before SetUp: servers run as accounts of this pool; empty: as the manager's user. The
  // unit's sandboxing stays off in this user manager (roots below /tmp meet PrivateTmp=, and
  // the game does not find its merged tree in the namespace the manager builds): tests apply
  // what they check themselves (isolation_test.cc).
  std::string server_users_;
  // Set before StartAgent: more top-level keys of agent.yaml.
  std::string extra_config_;
};

}  // namespace l4d2::testing
