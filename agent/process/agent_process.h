#pragma once

// The whole agent in one object, built from its config: the Linux implementations of every OS
// capability wired into the installer, instances, overlays, logs, host facts, the host
// reporter and the gRPC service. main.cc parses flags and the config, then Create, Start, waits
// for a termination signal, and Shutdown; tests run it in-process the same way.

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "agent/config/agent_config.h"
#include "agent/config/agent_programs.h"

namespace l4d2::agent {

// Reads one environment variable (std::getenv in production); null when unset.
using EnvironmentLookup = std::function<const char*(const char*)>;

// What the agent takes from its environment, as a pure function of the config and the
// environment (tested on their own).
struct AgentEnvironment {
  // steamcmd's HOME (steam.home, else $HOME, else /root).
  std::string steam_home;
  // systemctl's command and the variables it keeps (XDG_RUNTIME_DIR, ...).
  std::vector<std::string> systemctl_command;
  std::vector<std::string> systemctl_env;
  // The manager's private socket for D-Bus calls.
  std::string systemd_bus_address;
  // systemd-run for overlay scripts.
  std::vector<std::string> systemd_run;
  // Proxy and CA variables passed on to left4me-fetch.
  std::vector<std::string> fetch_env;
  // The CPUs servers and scripts run on (agent/host/cpu_list.h: the online ones less
  // server_limits.reserved_cpus; empty: all). Set by Create from the host.
  std::string server_cpus;
  // Where the servers send their log stream, "ip:port" (game_log.listen, resolved and bound by
  // Create); empty: no listener.
  std::string game_log_address;
};
AgentEnvironment EnvironmentFor(const AgentConfig& config, const EnvironmentLookup& getenv);

class AgentProcess {
 public:
  // Builds every part and prepares the host: checks the helpers (FAILED_PRECONDITION naming a
  // missing one), creates the root's directories, loads the operation records, writes the unit
  // template (a failure is only logged: starts report it), reads the TLS files and starts the
  // host reporter. Nothing serves yet.
  static absl::StatusOr<std::unique_ptr<AgentProcess>> Create(const AgentConfig& config,
                                                              const EnvironmentLookup& getenv);
  ~AgentProcess();

  // Serves gRPC on the configured listeners. Errors as GrpcServer::Start.
  absl::Status Start();
  // The TCP port served (0 before Start or without TCP).
  int tcp_port() const;
  // Whether it serves: a health check over its own unix socket answers within 5 s (true
  // without one). The service watchdog's check.
  bool Healthy() const;
  // Stops accepting calls, lets those in flight finish for `grace`, then joins the tasks.
  void Shutdown(absl::Duration grace);

 private:
  struct Parts;
  explicit AgentProcess(std::unique_ptr<Parts> parts);
  std::unique_ptr<Parts> parts_;
};

}  // namespace l4d2::agent
