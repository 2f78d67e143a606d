// l4d2-agent: manages the Left 4 Dead 2 servers of one host (see docs/agent-api.md).
// Parses flags, loads the config, wires the Linux implementations, serves until SIGTERM.

#include <cstdlib>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "agent/config/agent_config.h"
#include "agent/config/agent_programs.h"
#include "agent/fleet/enrollment.h"
#include "agent/fleet/reporter.h"
#include "agent/host/host_info_collector.h"
#include "agent/host/layout.h"
#include "agent/install/install_service.h"
#include "agent/install/installer.h"
#include "agent/instance/instance_manager.h"
#include "agent/operations/operation_registry.h"
#include "agent/operations/task_runner.h"
#include "agent/os/linux/bubblewrap_sandbox.h"
#include "agent/os/linux/fetch_helper.h"
#include "agent/os/linux/linux_game_client.h"
#include "agent/os/linux/linux_host_probe.h"
#include "agent/os/linux/linux_process_runner.h"
#include "agent/os/linux/sd_bus_service_manager.h"
#include "agent/os/linux/sd_journal_reader.h"
#include "agent/os/linux/systemctl_service_manager.h"
#include "agent/overlay_helper/overlay_mounter.h"
#include "agent/overlays/overlay_manager.h"
#include "agent/service/agent_service.h"
#include "agent/service/grpc_server.h"
#include "common/file_util.h"
#include "common/lock_checks.h"
#include "common/logging.h"
#include "common/program_usage.h"
#include "common/startup_pages.h"
#include "common/termination_signals.h"
#include "common/version.h"
#include "tls/signatures.h"

ABSL_FLAG(std::string, config, "",
          "YAML config file (docs/operations.md); flags given here override its values");
ABSL_FLAG(std::optional<std::string>, root, std::nullopt,
          "LEFT4ME_ROOT, the directory the agent owns (default /var/lib/left4me)");
ABSL_FLAG(std::optional<std::string>, listen_tcp, std::nullopt,
          "TCP listen address host:port (default 127.0.0.1:7543); empty disables TCP");
ABSL_FLAG(std::optional<std::string>, listen_unix, std::nullopt,
          "unix socket path (default /run/left4me/agent.sock); empty disables it");
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
ABSL_FLAG(std::string, controller, "", "enroll: the controller's URL, e.g. https://ctl:8080");
ABSL_FLAG(std::string, token_file, "",
          "enroll: a file holding the one-time enrollment token (default: standard input)");
ABSL_FLAG(bool, version, false, "print the version and exit");

namespace {

using l4d2::agent::AgentConfig;

absl::StatusOr<AgentConfig> BuildConfig() {
  AgentConfig config;
  if (std::string path = absl::GetFlag(FLAGS_config); !path.empty()) {
    absl::StatusOr<AgentConfig> loaded = l4d2::agent::LoadAgentConfig(path);
    if (!loaded.ok()) return loaded.status();
    config = *std::move(loaded);
  }
  auto override_with = [](const std::optional<std::string>& flag, std::string* field) {
    if (flag.has_value()) *field = *flag;
  };
  override_with(absl::GetFlag(FLAGS_root), &config.root);
  override_with(absl::GetFlag(FLAGS_listen_tcp), &config.listen_tcp);
  override_with(absl::GetFlag(FLAGS_listen_unix), &config.listen_unix);
  override_with(absl::GetFlag(FLAGS_unix_group), &config.unix_socket_group);
  override_with(absl::GetFlag(FLAGS_steamcmd), &config.steamcmd);
  override_with(absl::GetFlag(FLAGS_log_level), &config.log_level);
  override_with(absl::GetFlag(FLAGS_unit_dir), &config.unit_dir);
  override_with(absl::GetFlag(FLAGS_overlay_helper), &config.overlay_helper);
  override_with(absl::GetFlag(FLAGS_console_helper), &config.console_helper);
  override_with(absl::GetFlag(FLAGS_fetch_helper), &config.fetch_helper);
  absl::Status valid = l4d2::agent::ValidateAgentConfig(config);
  if (!valid.ok()) return valid;
  return config;
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
  std::string token;
  if (std::string file = absl::GetFlag(FLAGS_token_file); !file.empty()) {
    absl::StatusOr<std::string> text = l4d2::ReadFileToString(file, 4096);
    if (!text.ok()) {
      std::cerr << "l4d2-agent: " << text.status().message() << "\n";
      return 2;
    }
    token = *std::move(text);
  } else {
    std::getline(std::cin, token);
  }
  l4d2::agent::HostLayout layout(config->root);
  if (absl::Status created = layout.CreateDirectories(); !created.ok()) {
    std::cerr << "l4d2-agent: " << created.message() << "\n";
    return 1;
  }
  l4d2::agent::LinuxProcessRunner processes;
  l4d2::agent::FetchHelper fetcher(processes,
                                   {.program = l4d2::agent::ResolvePrograms(*config).fetch_helper,
                                    .scratch_dir = layout.tmp_dir()});
  absl::StatusOr<l4d2::agent::EnrolledFiles> files = l4d2::agent::Enroll(
      fetcher, absl::GetFlag(FLAGS_controller), token, layout.agent_dir() + "/tls");
  if (!files.ok()) {
    std::cerr << "l4d2-agent: enrollment failed: " << files.status().message() << "\n";
    return absl::IsInvalidArgument(files.status()) ? 2 : 1;
  }
  std::cout << "enrolled as host " << files->host_id << "; serve with, in the config:\n"
            << "listen:\n  tls: {certificate: " << files->certificate << ", key: " << files->key
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
  const l4d2::agent::AgentPrograms programs = l4d2::agent::ResolvePrograms(*config);
  if (absl::Status present = l4d2::agent::CheckPrograms(programs, l4d2::IsExecutableFile);
      !present.ok()) {
    L4D2_LOG(ERROR) << present.message();
    return 1;
  }

  l4d2::agent::HostLayout layout(config->root);
  if (absl::Status created = layout.CreateDirectories(); !created.ok()) {
    L4D2_LOG(ERROR) << created.message();
    return 1;
  }
  l4d2::agent::LinuxHostProbe probe;
  l4d2::agent::LinuxProcessRunner processes;
  l4d2::Clock& clock = l4d2::Clock::Real();
  l4d2::agent::OperationRegistry operations(layout.agent_dir() + "/operations", clock);
  if (absl::Status loaded = operations.Load(); !loaded.ok()) {
    L4D2_LOG(ERROR) << loaded.message();
    return 1;
  }
  const char* home = std::getenv("HOME");
  std::string steam_home = !config->steam_home.empty() ? config->steam_home
                           : home != nullptr           ? home
                                                       : "/root";
  l4d2::agent::Installer installer(
      layout, processes, clock,
      {.steamcmd = config->steamcmd,
       .env = {"HOME=" + steam_home, "PATH=/usr/local/bin:/usr/bin:/bin", "LANG=C.UTF-8"},
       .steam_home = steam_home,
       .steamcmd_client_dir = config->steamcmd_client_dir,
       .account_file = config->steam_account_file,
       .no_progress_timeout = config->steamcmd_no_progress_timeout});
  // Joined explicitly below, while everything its tasks use still exists.
  l4d2::agent::TaskRunner tasks;
  l4d2::agent::InstallService installs(installer, operations, tasks,
                                       [&layout] { return layout.PinnedInstallations(); });
  // systemd: the system manager, or a user manager (development), over its private socket;
  // systemctl only when a (privileged wrapper) command is configured.
  l4d2::agent::SystemctlOptions systemctl;
  if (!config->systemctl_command.empty()) {
    systemctl.command = absl::StrSplit(config->systemctl_command, ' ', absl::SkipEmpty());
  } else if (config->systemd_user_manager) {
    systemctl.command = {"/usr/bin/systemctl", "--user"};
  }
  for (const char* variable : {"XDG_RUNTIME_DIR", "DBUS_SESSION_BUS_ADDRESS", "HOME", "PATH"}) {
    if (const char* value = std::getenv(variable)) {
      systemctl.env.push_back(std::string(variable) + "=" + value);
    }
  }
  const char* runtime_dir = std::getenv("XDG_RUNTIME_DIR");
  l4d2::agent::SdBusServiceManager bus_systemd(
      {.address =
           config->systemd_user_manager
               ? absl::StrCat("unix:path=", runtime_dir != nullptr ? runtime_dir : "/run/user",
                              "/systemd/private")
               : "unix:path=/run/systemd/private"});
  l4d2::agent::SystemctlServiceManager systemctl_systemd(processes, systemctl);
  l4d2::agent::ServiceManager& systemd =
      config->systemctl_command.empty() ? static_cast<l4d2::agent::ServiceManager&>(bus_systemd)
                                        : systemctl_systemd;
  l4d2::agent::LinuxGameClient game;
  l4d2::agent::OverlayMounter mounts(layout.root());
  l4d2::agent::InstanceManager instances(
      layout, systemd, game, clock,
      {.limits = {.port_first = config->port_first, .port_last = config->port_last},
       .bind_ip = config->bind_ip,
       .unit_dir = config->unit_dir,
       .unit = {.unit_prefix = config->unit_prefix,
                .root = layout.root(),
                .helper_command = programs.overlay_command,
                .console_command = programs.console_helper,
                .user = config->server_user,
                .hardening = config->unit_hardening,
                .port_first = config->port_first,
                .port_last = config->port_last}},
      [&mounts](const std::string& name) { return mounts.IsMounted(name); });
  if (absl::Status unit = instances.InstallUnitTemplate(); !unit.ok()) {
    // Not fatal: the host may not be set up for instances yet; starts will report it.
    L4D2_LOG(WARNING) << "unit template: " << unit.message();
  }
  // Downloads and archives are handled by left4me-fetch, out of this process.
  std::vector<std::string> fetch_env;
  for (const char* variable : {"http_proxy", "https_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY",
                               "NO_PROXY", "SSL_CERT_FILE", "SSL_CERT_DIR", "CURL_CA_BUNDLE"}) {
    if (const char* value = std::getenv(variable)) {
      fetch_env.push_back(std::string(variable) + "=" + value);
    }
  }
  l4d2::agent::FetchHelper fetcher(processes, {.program = programs.fetch_helper,
                                               .env = std::move(fetch_env),
                                               .scratch_dir = layout.tmp_dir()});
  l4d2::agent::SdJournal journal;
  // Overlay scripts run as transient units of the same manager as the servers.
  std::vector<std::string> systemd_run =
      !config->systemd_run_command.empty()
          ? absl::StrSplit(config->systemd_run_command, ' ', absl::SkipEmpty())
      : config->systemd_user_manager ? std::vector<std::string>{"/usr/bin/systemd-run", "--user"}
                                     : std::vector<std::string>{"/usr/bin/systemd-run"};
  l4d2::agent::BubblewrapSandbox scripts(processes, {.bwrap = config->bwrap,
                                                     .systemd_run = std::move(systemd_run),
                                                     .env = systemctl.env,
                                                     .user = config->script_user});
  l4d2::agent::OverlayManager overlays(
      layout, {.steam_web_api = config->steam_web_api},
      [&instances] { return instances.PinnedLayers(); }, &fetcher, &fetcher, &scripts);
  l4d2::agent::HostInfoCollector host_info(probe, layout, config->port_first, config->port_last,
                                           clock.Now(),
                                           [&instances] { return instances.CountRunning(); });
  // Set before the server serves; the service nudges it after each change to an instance.
  std::unique_ptr<l4d2::agent::HostReporter> reporter;
  l4d2::agent::AgentServiceImpl agent_service({.host_info = host_info,
                                               .installs = installs,
                                               .operations = operations,
                                               .instances = instances,
                                               .tasks = tasks,
                                               .journal = journal,
                                               .overlays = overlays,
                                               .instances_changed = [&reporter] {
                                                 if (reporter != nullptr) reporter->Nudge();
                                               }});

  l4d2::agent::GrpcServerOptions options{.tcp_address = config->listen_tcp,
                                         .unix_path = config->listen_unix,
                                         .unix_mode = config->unix_socket_mode,
                                         .unix_group = config->unix_socket_group};
  if (!config->tls_certificate.empty()) {
    for (auto [path, pem] : {std::pair{&config->tls_certificate, &options.tls_certificate},
                             std::pair{&config->tls_key, &options.tls_key},
                             std::pair{&config->tls_ca, &options.tls_ca}}) {
      absl::StatusOr<std::string> text = l4d2::ReadFileToString(*path, 1 << 20);
      if (!text.ok()) {
        L4D2_LOG(ERROR) << "listen.tls: " << text.status().message();
        return 1;
      }
      *pem = *std::move(text);
    }
  }
  if (!config->report_to.empty()) {
    absl::StatusOr<std::string> host_id = l4d2::tls::AgentHostId(options.tls_certificate);
    absl::StatusOr<l4d2::tls::Signer> signer = l4d2::tls::Signer::FromKeyPem(options.tls_key);
    absl::StatusOr<std::unique_ptr<l4d2::agent::HostReporter>> started =
        !host_id.ok()  ? host_id.status()
        : !signer.ok() ? signer.status()
                       : l4d2::agent::HostReporter::Start(
                             {.host_id = *host_id,
                              .targets = config->report_to,
                              .interval = config->report_interval},
                             *std::move(signer),
                             {.host_info = [&host_info] { return host_info.Collect(); },
                              .instances = [&instances] { return instances.List(true); }},
                             clock);
    if (!started.ok()) {
      L4D2_LOG(ERROR) << "report: " << started.status().message();
      return 1;
    }
    reporter = *std::move(started);
    L4D2_LOG(INFO) << "reporting host " << *host_id << " to "
                   << absl::StrJoin(config->report_to, ", ") << " every "
                   << absl::FormatDuration(config->report_interval);
  }
  auto server = l4d2::agent::GrpcServer::Start(
      options, {{l4d2::agent::v1::AgentService::service_full_name(), &agent_service}});
  if (!server.ok()) {
    L4D2_LOG(ERROR) << server.status().message();
    return 1;
  }
  std::string listeners;
  if (!config->listen_tcp.empty()) {
    absl::StrAppend(&listeners, " tcp '", config->listen_tcp, "' (port ", (*server)->tcp_port(),
                    ")");
  }
  if (!config->listen_unix.empty())
    absl::StrAppend(&listeners, " unix '", config->listen_unix, "'");
  L4D2_LOG(INFO) << "l4d2-agent " << l4d2::kVersion << " serving root '" << layout.root() << "' on"
                 << listeners;

  // Started: what only start-up needed goes back to the kernel (docs/benchmarks.md, P8).
  if (auto released = l4d2::ReleaseStartupPages(); !released.ok()) {
    L4D2_LOG(WARNING) << "start-up pages: " << released.status().message();
  }

  int signal_number = l4d2::WaitForTerminationSignal();
  L4D2_LOG(INFO) << "signal " << signal_number << ", shutting down (grace "
                 << absl::FormatDuration(config->shutdown_grace) << ")";
  (*server)->Shutdown(config->shutdown_grace);
  tasks.JoinAll();
  L4D2_LOG(INFO) << "stopped";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  l4d2::BlockTerminationSignals();
  l4d2::DisableLockOrderChecks();
  l4d2::SetProgramUsage(
      "l4d2-agent [--config FILE] [flags] [enroll --controller URL [--token_file FILE]]\n"
      "Manages the Left 4 Dead 2 dedicated servers of one host over gRPC "
      "(service l4d2.agent.v1.AgentService, with reflection and grpc.health.v1).");
  std::vector<char*> args = absl::ParseCommandLine(argc, argv);
  if (absl::GetFlag(FLAGS_version)) {
    std::cout << "l4d2-agent " << l4d2::kVersion << "\n";
    return 0;
  }
  if (args.size() == 2 && std::string(args[1]) == "enroll") return RunEnroll();
  if (args.size() > 1) {
    std::cerr << "l4d2-agent: unknown command '" << args[1] << "'; usage: l4d2-agent [enroll]\n";
    return 2;
  }
  return Run();
}
