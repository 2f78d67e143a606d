#pragma once

// The agent's configuration: a typed struct, loaded from YAML (config file) and overridden by
// flags in main.cc. Every option is documented in docs/operations.md and in --help.

#include <sys/types.h>

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "yaml-cpp/yaml.h"

namespace l4d2::agent {

struct AgentConfig {
  // LEFT4ME_ROOT: everything the agent owns on the host lives below it.
  std::string root = "/var/lib/left4me";
  // TCP listen address ("host:port"); empty (the default) disables TCP. TCP is served with
  // mutual TLS only (below): local clients use the unix socket, whose mode and group decide
  // who may. plaintext_tcp serves it without TLS, for tests and development only: any process
  // of the host, game servers included, could then call every RPC.
  std::string listen_tcp;
  bool plaintext_tcp = false;
  // Mutual TLS on the TCP listener (tls/pki.h): PEM files of the agent's certificate and key
  // and the fleet CA; all three or none. With them any address may be listened on.
  std::string tls_certificate;
  std::string tls_key;
  std::string tls_ca;
  // How often the files are read again: a certificate the controller renewed (written in place
  // by the InstallCertificate call) is served from the next read on.
  absl::Duration tls_reload = absl::Minutes(1);
  // Host reports (agent/fleet/reporter.h): the controllers' report addresses ("host:port",
  // UDP), each sent a signed report of the host every report_interval and after every change
  // to an instance. Needs the enrolled certificate and key (listen.tls). Empty: the
  // controllers ask over gRPC instead.
  std::vector<std::string> report_to;
  absl::Duration report_interval = absl::Seconds(5);
  // Unix socket path; empty disables it. Its mode and group decide who may use the agent.
  std::string listen_unix = "/run/left4me/agent.sock";
  mode_t unix_socket_mode = 0660;
  std::string unix_socket_group;
  // Ports handed to instances (inclusive).
  int port_first = 27015;
  int port_last = 27999;
  // The steamcmd program.
  std::string steamcmd = "/usr/games/steamcmd";
  // Home of the user the servers run as: steamcmd's HOME, and where ~/.steam/sdk32 and sdk64
  // are linked. Empty: the agent's own $HOME.
  std::string steam_home;
  // Directory with steamcmd's linux32/ and linux64/; empty: looked up (docs/operations.md).
  std::string steamcmd_client_dir;
  // Optional Steam account: a file of two lines (user, password), mode 0600.
  std::string steam_account_file;
  // The Steam Web API, for Workshop overlay items.
  std::string steam_web_api = "https://api.steampowered.com";
  // steamcmd is stopped after printing nothing for this long.
  absl::Duration steamcmd_no_progress_timeout = absl::Minutes(5);
  // How instances are run (docs/operations.md, "systemd").
  bool systemd_user_manager = false;  // systemctl --user instead of the system manager
  std::string systemctl_command;      // replaces "/usr/bin/systemctl [--user]" if set
  std::string unit_dir = "/etc/systemd/system";
  // Units are <unit_prefix>@<instance>.service; ^[a-z][a-z0-9-]{0,31}$.
  std::string unit_prefix = "left4me-server";
  // The slices the agent writes (agent/instance/unit_files.h): <slice>.slice holds
  // <slice>-servers.slice (game servers) and <slice>-work.slice (overlay scripts, below the
  // servers' weight); same rules as unit_prefix.
  std::string slice = "left4me";
  std::string overlay_helper;  // empty: nsenter + the installed helper
  std::string console_helper;  // left4me-console; empty: the installed one
  // The pool of accounts game servers run as, one per server (agent/os/server_users.h): the
  // users whose names start with this; empty: the service manager's user (development).
  std::string server_users = "left4me-server-";
  bool unit_hardening = true;
  // Every server's limits unless its blueprint sets them (0: none).
  int64_t server_memory_high_mib = 1536;
  int64_t server_memory_max_mib = 2048;
  int server_tasks_max = 256;
  int server_cpu_quota_percent = 0;
  // The cores kept for the host's own system (sshd, the agent): "auto" (CPU 0 on hosts with 4
  // or more CPUs), "none", or a list ("0-1"); servers and scripts run on the others.
  std::string reserved_cpus = "auto";
  int server_nice = 0;              // Nice= of the game servers (-20..19)
  std::string bind_ip = "0.0.0.0";  // +ip of the servers
  // The UDP listener the servers send their log stream to (players, maps, update requests;
  // agent/players/game_log_service.h). Source refuses loopback targets, so it is on a host
  // address: "auto" (bind_ip when it names one that is not loopback, else the host's first
  // IPv4 address that is up),
  // an IPv4 address of the host, or "off". Port 0: any free one (servers are pointed at it when
  // they start; a fixed port keeps running servers' streams across agent restarts).
  std::string game_log_listen = "auto";
  int game_log_port = 27014;
  // Overlay scripts (os/linux/bubblewrap_sandbox.h): the unprivileged account they run as,
  // bubblewrap, and systemd-run with its flags (empty: "/usr/bin/systemd-run", with --user for
  // a user manager).
  std::string script_user = "left4me-script";
  // A script's own memory, and the bytes its files may take (held in a tmpfs of that size
  // while it runs, so the unit's MemoryMax is the sum); ENOSPC beyond it fails the sync.
  int64_t script_memory_max_mib = 2048;
  int64_t script_disk_quota_mib = 2048;
  std::string bwrap = "/usr/bin/bwrap";
  std::string systemd_run_command;
  // left4me-fetch (overlay downloads and archive extraction); empty: the installed one.
  std::string fetch_helper;
  // The unprivileged account left4me-fetch works as (HTTP and archives are parsed by it, never
  // by root); empty: the agent's own (development).
  std::string fetch_user = "left4me-fetch";
  // How long in-flight calls may take to finish on SIGTERM before they are cancelled.
  absl::Duration shutdown_grace = absl::Seconds(10);
  // "debug", "info", "warning" or "error".
  std::string log_level = "info";
};

// Reads a config document (see docs/operations.md); unknown keys and bad values are
// INVALID_ARGUMENT. Missing keys keep the defaults above.
absl::StatusOr<AgentConfig> ParseAgentConfig(const YAML::Node& document);

// Loads and parses a config file with the limits of common/yaml_document.h.
absl::StatusOr<AgentConfig> LoadAgentConfig(const std::string& path);

// Checks the whole config (after flags were applied): INVALID_ARGUMENT with the option name.
absl::Status ValidateAgentConfig(const AgentConfig& config);

}  // namespace l4d2::agent
