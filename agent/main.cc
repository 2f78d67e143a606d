// l4d2-agent: manages the Left 4 Dead 2 servers of one host (see docs/agent-api.md).
// Parses flags, loads the config, wires the Linux implementations, serves until SIGTERM.

#include <cstdlib>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "agent/config/agent_config.h"
#include "agent/config/agent_programs.h"
#include "agent/fleet/enrollment.h"
#include "agent/fleet/join.h"
#include "agent/host/layout.h"
#include "agent/os/linux/fetch_helper.h"
#include "agent/os/linux/linux_process_runner.h"
#include "agent/process/agent_process.h"
#include "common/clock.h"
#include "common/config_flags.h"
#include "common/file_util.h"
#include "common/lock_checks.h"
#include "common/logging.h"
#include "common/program_usage.h"
#include "common/service_notify.h"
#include "common/startup_pages.h"
#include "common/termination_signals.h"
#include "common/version.h"

ABSL_FLAG(std::string, config, "",
          "YAML config file (docs/operations.md); flags given here override its values");
ABSL_FLAG(std::optional<std::string>, root, std::nullopt,
          "LEFT4ME_ROOT, the directory the agent owns (default /var/lib/left4me)");
ABSL_FLAG(std::optional<std::string>, listen_tcp, std::nullopt,
          "TCP listen address host:port, served with mutual TLS (listen.tls) only; default "
          "none");
ABSL_FLAG(bool, plaintext_tcp, false,
          "serve --listen_tcp (loopback only) without TLS: tests and development only, as any "
          "local process could then call every RPC");
ABSL_FLAG(std::optional<std::string>, listen_unix, std::nullopt,
          "unix socket path (default /run/left4me/agent.sock); none: no unix socket (an empty "
          "value keeps the config's path)");
ABSL_FLAG(std::optional<std::string>, unix_group, std::nullopt,
          "group owning the unix socket (mode from the config, default 0660)");
ABSL_FLAG(std::optional<std::string>, steamcmd, std::nullopt,
          "steamcmd program (default /usr/games/steamcmd)");
ABSL_FLAG(std::optional<std::string>, log_level, std::nullopt,
          "debug, info, warning or error (default info)");
ABSL_FLAG(std::optional<std::string>, unit_dir, std::nullopt,
          "where the server unit template and drop-ins are written (default /etc/systemd/system)");
ABSL_FLAG(std::optional<std::string>, overlay_helper, std::nullopt,
          "command that mounts an instance's overlays (default: nsenter + the installed "
          "left4me-overlay)");
ABSL_FLAG(std::optional<std::string>, console_helper, std::nullopt,
          "left4me-console, the game unit's main process (default: the installed one)");
ABSL_FLAG(std::optional<std::string>, fetch_helper, std::nullopt,
          "left4me-fetch, for downloads and archives (default: the installed one)");
ABSL_FLAG(std::string, controller, "", "enroll, join: the controller's URL, e.g. https://ctl:8080");
ABSL_FLAG(std::string, token_file, "",
          "enroll, join: a file holding the one-time enrollment token (default: standard input)");
ABSL_FLAG(std::string, ca_sha256, "",
          "join: the controller's CA pin, sha256:<hex> as the controller prints it");
ABSL_FLAG(std::string, unit, "left4me-agent.service", "join: the agent's systemd unit");
ABSL_FLAG(bool, version, false, "print the version and exit");

namespace {

using l4d2::agent::AgentConfig;

absl::StatusOr<AgentConfig> BuildConfig() {
  return l4d2::ConfigFromFileAndFlags<AgentConfig>(
      absl::GetFlag(FLAGS_config), l4d2::agent::LoadAgentConfig,
      [](AgentConfig& config) {
        l4d2::OverrideWith(absl::GetFlag(FLAGS_root), config.root);
        l4d2::OverrideWith(absl::GetFlag(FLAGS_listen_tcp), config.listen_tcp);
        if (absl::GetFlag(FLAGS_plaintext_tcp)) config.plaintext_tcp = true;
        if (std::optional<std::string> unix_socket = absl::GetFlag(FLAGS_listen_unix)) {
          config.listen_unix = *unix_socket == "none" ? "" : *unix_socket;
        }
        l4d2::OverrideWith(absl::GetFlag(FLAGS_unix_group), config.unix_socket_group);
        l4d2::OverrideWith(absl::GetFlag(FLAGS_steamcmd), config.steamcmd);
        l4d2::OverrideWith(absl::GetFlag(FLAGS_log_level), config.log_level);
        l4d2::OverrideWith(absl::GetFlag(FLAGS_unit_dir), config.unit_dir);
        l4d2::OverrideWith(absl::GetFlag(FLAGS_overlay_helper), config.overlay_helper);
        l4d2::OverrideWith(absl::GetFlag(FLAGS_console_helper), config.console_helper);
        l4d2::OverrideWith(absl::GetFlag(FLAGS_fetch_helper), config.fetch_helper);
      },
      l4d2::agent::ValidateAgentConfig);
}

// The one-time token, from --token_file or the first line of standard input (never argv).
absl::StatusOr<std::string> ReadToken() {
  if (std::string file = absl::GetFlag(FLAGS_token_file); !file.empty()) {
    return l4d2::ReadFileToString(file, 4096);
  }
  std::string token;
  std::getline(std::cin, token);
  return token;
}

// What enroll and join reach the controller with: the root's directories made, and
// left4me-fetch working as fetch_user (it parses the controller's HTTP answer).
absl::StatusOr<l4d2::agent::FetchHelperOptions> PrepareToReachTheController(
    const AgentConfig& config) {
  l4d2::agent::HostLayout layout(config.root);
  if (absl::Status created = layout.CreateDirectories(); !created.ok()) return created;
  return l4d2::agent::FetchHelperOptions{
      .program = l4d2::agent::ResolvePrograms(config).fetch_helper,
      .scratch_dir = layout.tmp_dir(),
      .user = config.fetch_user};
}

// `l4d2-agent join`: enrollment, configuration and the unit started, in one idempotent command
// (agent/fleet/join.h).
int RunJoin() {
  absl::StatusOr<AgentConfig> config = BuildConfig();
  if (!config.ok()) {
    std::cerr << "l4d2-agent: " << config.status().message() << "\n";
    return 2;
  }
  if (absl::GetFlag(FLAGS_controller).empty() || absl::GetFlag(FLAGS_config).empty()) {
    std::cerr << "l4d2-agent: join needs --config, --controller and --ca_sha256\n";
    return 2;
  }
  l4d2::agent::JoinRequest request{.controller_url = absl::GetFlag(FLAGS_controller),
                                   .ca_pin = absl::GetFlag(FLAGS_ca_sha256),
                                   .config_path = absl::GetFlag(FLAGS_config),
                                   .unit = absl::GetFlag(FLAGS_unit)};
  const l4d2::agent::AgentEnvironment environment =
      l4d2::agent::EnvironmentFor(*config, [](const char* name) { return std::getenv(name); });
  request.systemctl = environment.systemctl_command;
  request.systemctl_env = environment.systemctl_env;
  absl::StatusOr<l4d2::agent::FetchHelperOptions> fetch = PrepareToReachTheController(*config);
  if (!fetch.ok()) {
    std::cerr << "l4d2-agent: " << fetch.status().message() << "\n";
    return 1;
  }
  l4d2::agent::LinuxProcessRunner processes;
  l4d2::agent::FetchHelper fetcher(processes, *fetch);
  const absl::Time started = l4d2::Clock::Real().Now();
  // A joined host needs no token: it is read only when there is something to enroll.
  request.read_token = ReadToken;
  absl::StatusOr<l4d2::agent::JoinResult> joined =
      l4d2::agent::Join(*config, request, fetcher, processes);
  if (!joined.ok()) {
    std::cerr << "l4d2-agent: join failed: " << joined.status().message() << "\n";
    return absl::IsInvalidArgument(joined.status()) ? 2 : 1;
  }
  std::cout << (joined->already_joined ? "already joined as host " : "joined as host ")
            << joined->host_id << "; " << request.unit << " serves ("
            << absl::FormatDuration(
                   absl::Trunc(l4d2::Clock::Real().Now() - started, absl::Milliseconds(10)))
            << ")\n";
  return 0;
}

// `l4d2-agent enroll`: joins the fleet (agent/fleet/enrollment.h). The token comes from a file
// or standard input, never from the command line.
int RunEnroll() {
  absl::StatusOr<AgentConfig> config = BuildConfig();
  if (!config.ok()) {
    std::cerr << "l4d2-agent: " << config.status().message() << "\n";
    return 2;
  }
  if (absl::GetFlag(FLAGS_controller).empty()) {
    std::cerr << "l4d2-agent: enroll needs --controller\n";
    return 2;
  }
  absl::StatusOr<std::string> token = ReadToken();
  if (!token.ok()) {
    std::cerr << "l4d2-agent: " << token.status().message() << "\n";
    return 2;
  }
  absl::StatusOr<l4d2::agent::FetchHelperOptions> fetch = PrepareToReachTheController(*config);
  if (!fetch.ok()) {
    std::cerr << "l4d2-agent: " << fetch.status().message() << "\n";
    return 1;
  }
  l4d2::agent::LinuxProcessRunner processes;
  l4d2::agent::FetchHelper fetcher(processes, *fetch);
  absl::StatusOr<l4d2::agent::EnrolledFiles> files =
      l4d2::agent::Enroll(fetcher, absl::GetFlag(FLAGS_controller), *token,
                          l4d2::agent::HostLayout(config->root).agent_dir() + "/tls");
  if (!files.ok()) {
    std::cerr << "l4d2-agent: enrollment failed: " << files.status().message() << "\n";
    return absl::IsInvalidArgument(files.status()) ? 2 : 1;
  }
  // TCP is served with mutual TLS only: the listener comes with the certificate (the port is
  // the one of the host's address at the controller).
  std::cout << "enrolled as host " << files->host_id << "; serve with, in the config:\n"
            << "listen:\n  tcp: \""
            << (config->listen_tcp.empty() ? "0.0.0.0:7543" : config->listen_tcp) << "\"\n"
            << "  tls: {certificate: " << files->certificate << ", key: " << files->key
            << ", ca: " << files->ca << "}\n";
  if (!files->report_to.empty()) std::cout << "report:\n  to: [" << files->report_to << "]\n";
  return 0;
}

int Run() {
  absl::StatusOr<AgentConfig> config = BuildConfig();
  if (!config.ok()) {
    std::cerr << "l4d2-agent: " << config.status().message() << "\n";
    return 2;
  }
  l4d2::LogSeverity severity;
  l4d2::ParseLogSeverity(config->log_level, &severity);
  l4d2::SetMinLogSeverity(severity);
  absl::StatusOr<std::unique_ptr<l4d2::agent::AgentProcess>> agent =
      l4d2::agent::AgentProcess::Create(*config,
                                        [](const char* name) { return std::getenv(name); });
  if (!agent.ok()) {
    L4D2_LOG(ERROR) << agent.status().message();
    return 1;
  }
  if (absl::Status started = (*agent)->Start(); !started.ok()) {
    L4D2_LOG(ERROR) << started.message();
    return 1;
  }
  // Started: what only start-up needed goes back to the kernel (docs/benchmarks.md, P8).
  if (auto released = l4d2::ReleaseStartupPages(); !released.ok()) {
    L4D2_LOG(WARNING) << "start-up pages: " << released.status().message();
  }
  l4d2::NotifyReady("serving");
  const int signal_number = [&] {
    l4d2::ServiceWatchdog watchdog([&agent] { return (*agent)->Healthy(); });
    return l4d2::WaitForTerminationSignal();
  }();
  l4d2::NotifyStopping();
  L4D2_LOG(INFO) << "signal " << signal_number << ", shutting down (grace "
                 << absl::FormatDuration(config->shutdown_grace) << ")";
  (*agent)->Shutdown(config->shutdown_grace);
  L4D2_LOG(INFO) << "stopped";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  l4d2::BlockTerminationSignals();
  l4d2::DisableLockOrderChecks();
  l4d2::SetProgramUsage(
      "l4d2-agent [--config FILE] [flags] [enroll --controller URL [--token_file FILE]]\n"
      "l4d2-agent --config FILE join --controller URL --ca_sha256 PIN [--token_file FILE]\n"
      "Manages the Left 4 Dead 2 dedicated servers of one host over gRPC "
      "(service l4d2.agent.v1.AgentService, with reflection and grpc.health.v1).");
  std::vector<char*> args = l4d2::ParseProgramCommandLine(argc, argv);
  if (absl::GetFlag(FLAGS_version)) {
    std::cout << "l4d2-agent " << l4d2::kVersion << "\n";
    return 0;
  }
  if (args.size() == 2 && std::string(args[1]) == "enroll") return RunEnroll();
  if (args.size() == 2 && std::string(args[1]) == "join") return RunJoin();
  if (args.size() > 1) {
    std::cerr << "l4d2-agent: unknown command '" << args[1]
              << "'; usage: l4d2-agent [enroll | join]\n";
    return 2;
  }
  return Run();
}
