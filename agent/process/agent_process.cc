#include "agent/process/agent_process.h"

#include <arpa/inet.h>
#include <sys/stat.h>

#include <cerrno>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "agent/backup/backup_store.h"
#include "agent/fleet/reporter.h"
#include "agent/host/cpu_list.h"
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
#include "agent/os/linux/passwd_server_users.h"
#include "agent/os/linux/sd_bus_service_manager.h"
#include "agent/os/linux/sd_journal_reader.h"
#include "agent/os/linux/systemctl_service_manager.h"
#include "agent/os/linux/udp_log_socket.h"
#include "agent/overlay_helper/overlay_mounter.h"
#include "agent/overlays/layout_migration.h"
#include "agent/overlays/overlay_manager.h"
#include "agent/players/game_log_service.h"
#include "agent/players/player_watch.h"
#include "agent/service/agent_service.h"
#include "agent/service/grpc_server.h"
#include "common/clock.h"
#include "common/file_util.h"
#include "common/logging.h"
#include "common/status_macros.h"
#include "common/version.h"
#include "rpc/health_check.h"
#include "tls/signatures.h"

namespace l4d2::agent {

AgentEnvironment EnvironmentFor(const AgentConfig& config, const EnvironmentLookup& getenv) {
  AgentEnvironment environment;
  const char* home = getenv("HOME");
  environment.steam_home = !config.steam_home.empty() ? config.steam_home
                           : home != nullptr          ? home
                                                      : "/root";
  // systemd: the system manager, or a user manager (development), over its private socket;
  // systemctl only when a (privileged wrapper) command is configured.
  if (!config.systemctl_command.empty()) {
    environment.systemctl_command =
        absl::StrSplit(config.systemctl_command, ' ', absl::SkipEmpty());
  } else if (config.systemd_user_manager) {
    environment.systemctl_command = {"/usr/bin/systemctl", "--user"};
  } else {
    environment.systemctl_command = {"/usr/bin/systemctl"};
  }
  for (const char* variable : {"XDG_RUNTIME_DIR", "DBUS_SESSION_BUS_ADDRESS", "HOME", "PATH"}) {
    if (const char* value = getenv(variable)) {
      environment.systemctl_env.push_back(absl::StrCat(variable, "=", value));
    }
  }
  const char* runtime_dir = getenv("XDG_RUNTIME_DIR");
  environment.systemd_bus_address =
      config.systemd_user_manager
          ? absl::StrCat("unix:path=", runtime_dir != nullptr ? runtime_dir : "/run/user",
                         "/systemd/private")
          : "unix:path=/run/systemd/private";
  // Overlay scripts run as transient units of the same manager as the servers.
  environment.systemd_run = !config.systemd_run_command.empty()
                                ? absl::StrSplit(config.systemd_run_command, ' ', absl::SkipEmpty())
                            : config.systemd_user_manager
                                ? std::vector<std::string>{"/usr/bin/systemd-run", "--user"}
                                : std::vector<std::string>{"/usr/bin/systemd-run"};
  for (const char* variable : {"http_proxy", "https_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY",
                               "NO_PROXY", "SSL_CERT_FILE", "SSL_CERT_DIR", "CURL_CA_BUNDLE"}) {
    if (const char* value = getenv(variable)) {
      environment.fetch_env.push_back(absl::StrCat(variable, "=", value));
    }
  }
  return environment;
}

// What game servers must not see besides the root's own directories: the agent's socket (its
// mode and group keep them out already).
std::vector<std::string> HiddenFromServers(const AgentConfig& config) {
  if (config.listen_unix.empty()) return {};
  return {config.listen_unix};
}

// Every part, in the order they are built (and the reverse of their destruction).
struct AgentProcess::Parts {
  Parts(const AgentConfig& config, const AgentPrograms& programs, AgentEnvironment environment,
        std::unique_ptr<UdpLogSocket> log_socket_)
      : config(config),
        env(std::move(environment)),
        layout(config.root),
        operations(layout.agent_dir() + "/operations", clock),
        installer(
            layout, processes, clock,
            {.steamcmd = config.steamcmd,
             .env = {"HOME=" + env.steam_home, "PATH=/usr/local/bin:/usr/bin:/bin", "LANG=C.UTF-8"},
             .steam_home = env.steam_home,
             .steamcmd_client_dir = config.steamcmd_client_dir,
             .account_file = config.steam_account_file,
             .no_progress_timeout = config.steamcmd_no_progress_timeout}),
        installs(installer, operations, tasks, [this] { return layout.PinnedInstallations(); }),
        bus_systemd({.address = env.systemd_bus_address}),
        systemctl_systemd(processes, {.command = env.systemctl_command, .env = env.systemctl_env}),
        systemd(config.systemctl_command.empty() ? static_cast<ServiceManager&>(bus_systemd)
                                                 : systemctl_systemd),
        mounts(layout.root()),
        instances(
            layout, systemd, game, clock,
            {.limits = {.port_first = config.port_first, .port_last = config.port_last},
             .bind_ip = config.bind_ip,
             .unit_dir = config.unit_dir,
             .unit = {.unit_prefix = config.unit_prefix,
                      .root = layout.root(),
                      .helper_command = programs.overlay_command,
                      .console_command = programs.console_helper,
                      .hardening = config.unit_hardening,
                      .hidden_paths = HiddenFromServers(config),
                      .memory_high_bytes = static_cast<uint64_t>(config.server_memory_high_mib)
                                           << 20,
                      .memory_max_bytes = static_cast<uint64_t>(config.server_memory_max_mib) << 20,
                      .tasks_max = static_cast<uint32_t>(config.server_tasks_max),
                      .cpu_quota_percent = static_cast<uint32_t>(config.server_cpu_quota_percent),
                      .slice = config.slice,
                      .cpus = env.server_cpus,
                      .nice = config.server_nice,
                      .port_first = config.port_first,
                      .port_last = config.port_last},
             .ports = &probe,
             .server_users = config.server_users,
             .accounts = &accounts,
             .game_log_address = env.game_log_address},
            [this](const std::string& name) { return mounts.IsMounted(name); }),
        // Downloads and archives are handled by left4me-fetch, out of this process.
        fetcher(processes, {.program = programs.fetch_helper,
                            .env = env.fetch_env,
                            .scratch_dir = layout.tmp_dir(),
                            .user = config.fetch_user}),
        scripts(processes, {.bwrap = config.bwrap,
                            .systemd_run = env.systemd_run,
                            .env = env.systemctl_env,
                            .user = config.script_user,
                            .memory_max_mib = config.script_memory_max_mib,
                            .disk_quota_mib = config.script_disk_quota_mib,
                            .slice = WorkSlice({.slice = config.slice}),
                            .cpus = env.server_cpus}),
        overlays(
            layout, {.steam_web_api = config.steam_web_api},
            [this] { return instances.PinnedLayers(); }, &fetcher, &fetcher, &scripts),
        backups(layout, systemd, instances, clock),
        host_info(
            probe, layout, config.port_first, config.port_last, clock.Now(),
            [this] { return instances.CountRunning(); }, [this] { return instances.HeldPorts(); }),
        certificate(
            {.certificate = config.tls_certificate, .key = config.tls_key, .ca = config.tls_ca},
            clock),
        log_socket(std::move(log_socket_)),
        game_log(log_socket == nullptr ? nullptr
                                       : std::make_unique<GameLogService>(*log_socket, clock,
                                                                          [this] {
                                                                            if (reporter != nullptr)
                                                                              reporter->Nudge();
                                                                          })),
        player_watch(
            game_log == nullptr
                ? nullptr
                : std::make_unique<PlayerWatch>(
                      *game_log,
                      PlayerWatchSources{
                          .instances = [this] { return instances.List(true); },
                          .log_secret =
                              [this](const std::string& name) { return instances.LogSecret(name); },
                          .console =
                              [this](const std::string& name, const std::string& command) {
                                return instances.Console(name, command, absl::Seconds(2));
                              }},
                      clock)),
        agent_service({.host_info = host_info,
                       .installs = installs,
                       .operations = operations,
                       .instances = instances,
                       .tasks = tasks,
                       .journal = journal,
                       .overlays = overlays,
                       .backups = backups,
                       .certificate = config.tls_certificate.empty() ? nullptr : &certificate,
                       .instances_changed =
                           [this] {
                             if (reporter != nullptr) reporter->Nudge();
                             if (player_watch != nullptr) player_watch->Nudge();
                           },
                       .game_log = game_log.get()}) {}

  const AgentConfig config;
  const AgentEnvironment env;
  Clock& clock = Clock::Real();
  HostLayout layout;
  LinuxHostProbe probe;
  PasswdServerUsers accounts;
  LinuxProcessRunner processes;
  OperationRegistry operations;
  Installer installer;
  // Joined in Shutdown, while everything its tasks use still exists.
  TaskRunner tasks;
  InstallService installs;
  SdBusServiceManager bus_systemd;
  SystemctlServiceManager systemctl_systemd;
  ServiceManager& systemd;
  LinuxGameClient game;
  OverlayMounter mounts;
  InstanceManager instances;
  FetchHelper fetcher;
  SdJournal journal;
  BubblewrapSandbox scripts;
  OverlayManager overlays;
  BackupStore backups;
  HostInfoCollector host_info;
  // Set before the server serves; the service nudges it after each change to an instance.
  std::unique_ptr<HostReporter> reporter;
  AgentCertificate certificate;
  // The servers' log streams, when the listener could be bound; stopped before the reporter
  // and the instances they use go.
  std::unique_ptr<UdpLogSocket> log_socket;
  std::unique_ptr<GameLogService> game_log;
  std::unique_ptr<PlayerWatch> player_watch;
  AgentServiceImpl agent_service;
  GrpcServerOptions server_options;
  std::unique_ptr<GrpcServer> server;
};

namespace {

// The listeners, with the TLS files when configured.
GrpcServerOptions ServerOptions(const AgentConfig& config) {
  return {.tcp_address = config.listen_tcp,
          .unix_path = config.listen_unix,
          .unix_mode = config.unix_socket_mode,
          .unix_group = config.unix_socket_group,
          .tls_certificate_file = config.tls_certificate,
          .tls_key_file = config.tls_key,
          .tls_ca_file = config.tls_ca,
          .tls_reload = config.tls_reload};
}

// A file of listen.tls, read; errors name the setting.
absl::StatusOr<std::string> ReadTlsFile(const std::string& path) {
  absl::StatusOr<std::string> text = ReadFileToString(path, 1 << 20);
  if (!text.ok()) {
    return absl::Status(text.status().code(),
                        absl::StrCat("listen.tls: ", text.status().message()));
  }
  return text;
}

// With an account per server, every directory above the root must let others pass: the servers
// reach their runtime directories through it (a root below /root, or below a 0700 mkdtemp,
// fails every start with 226/CHDIR otherwise).
absl::Status CheckServersCanReachTheRoot(const AgentConfig& config) {
  if (config.server_users.empty()) return absl::OkStatus();
  for (std::filesystem::path path = config.root;; path = path.parent_path()) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
      if (errno != ENOENT) return ErrnoError(errno, "stat", path.string());
      continue;  // made below, 0755
    }
    if ((st.st_mode & S_IXOTH) == 0) {
      return absl::FailedPreconditionError(absl::StrCat(
          "root: '", path.string(), "' does not let others pass (mode ",
          absl::StrFormat("%04o", st.st_mode & 07777),
          "): the servers' own accounts could not reach their directories below it; chmod o+x "
          "it, or put the root elsewhere (default /var/lib/left4me)"));
    }
    if (!path.has_relative_path()) break;
  }
  return absl::OkStatus();
}

// The game log listener (game_log.listen, .port), bound; null when it is off or cannot be
// bound: servers then send no log stream and players come from A2S alone (logged, not fatal).
std::unique_ptr<UdpLogSocket> OpenGameLogSocket(const AgentConfig& config) {
  if (config.game_log_listen == "off") return nullptr;
  std::string ip = config.game_log_listen;
  if (ip == "auto") {
    in_addr bind{};
    const bool specific = inet_pton(AF_INET, config.bind_ip.c_str(), &bind) == 1 &&
                          bind.s_addr != htonl(INADDR_ANY) && (ntohl(bind.s_addr) >> 24) != 127;
    if (specific) {
      ip = config.bind_ip;
    } else {
      absl::StatusOr<std::vector<std::string>> addresses = HostIpv4Addresses();
      if (!addresses.ok() || addresses->empty()) {
        L4D2_LOG(WARNING) << "game log: the host has no IPv4 address that is up and not "
                             "loopback (the game sends no log to 127.0.0.0/8); players are "
                             "counted from A2S alone";
        return nullptr;
      }
      ip = addresses->front();
    }
  }
  absl::StatusOr<std::unique_ptr<UdpLogSocket>> socket =
      UdpLogSocket::Open(ip, config.game_log_port);
  if (!socket.ok()) {
    L4D2_LOG(WARNING) << "game log: " << socket.status().message()
                      << "; players are counted from A2S alone (game_log.listen, game_log.port)";
    return nullptr;
  }
  return *std::move(socket);
}

}  // namespace

bool AgentProcess::Healthy() const {
  return parts_->config.listen_unix.empty() ||
         AnswersHealthCheck("unix:" + parts_->config.listen_unix, RealDeadline(absl::Seconds(5)),
                            /*wait_for_ready=*/false);
}

absl::StatusOr<std::unique_ptr<AgentProcess>> AgentProcess::Create(
    const AgentConfig& config, const EnvironmentLookup& getenv) {
  const AgentPrograms programs = ResolvePrograms(config);
  L4D2_RETURN_IF_ERROR(CheckPrograms(programs, IsExecutableFile));
  L4D2_RETURN_IF_ERROR(CheckServersCanReachTheRoot(config));
  L4D2_RETURN_IF_ERROR(HostLayout(config.root).CreateDirectories());
  L4D2_ASSIGN_OR_RETURN(const int moved, MigrateOverlayLayout(HostLayout(config.root)));
  if (moved > 0) L4D2_LOG(INFO) << moved << " overlays moved to one directory per ref";
  AgentEnvironment environment = EnvironmentFor(config, getenv);
  L4D2_ASSIGN_OR_RETURN(const std::string online,
                        ReadFileToString("/sys/devices/system/cpu/online", 4096));
  absl::StatusOr<std::string> cpus = ServerCpus(online, config.reserved_cpus);
  if (!cpus.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("server_limits.reserved_cpus: ", cpus.status().message()));
  }
  environment.server_cpus = *std::move(cpus);
  if (!environment.server_cpus.empty()) {
    L4D2_LOG(INFO) << "game servers and scripts run on CPUs " << environment.server_cpus
                   << "; the others are kept for the system";
  }
  std::unique_ptr<UdpLogSocket> log_socket = OpenGameLogSocket(config);
  if (log_socket != nullptr) {
    environment.game_log_address = absl::StrCat(log_socket->ip(), ":", log_socket->port());
    L4D2_LOG(INFO) << "game log: listening on udp " << environment.game_log_address;
  }
  auto parts =
      std::make_unique<Parts>(config, programs, std::move(environment), std::move(log_socket));
  L4D2_RETURN_IF_ERROR(parts->operations.Load());
  if (absl::Status unit = parts->instances.InstallUnitTemplate(); !unit.ok()) {
    // Not fatal: the host may not be set up for instances yet; starts will report it.
    L4D2_LOG(WARNING) << "unit template: " << unit.message();
  }
  parts->server_options = ServerOptions(config);
  if (!config.report_to.empty()) {
    L4D2_ASSIGN_OR_RETURN(const std::string certificate, ReadTlsFile(config.tls_certificate));
    L4D2_ASSIGN_OR_RETURN(const std::string key, ReadTlsFile(config.tls_key));
    L4D2_ASSIGN_OR_RETURN(std::string host_id, tls::AgentHostId(certificate));
    L4D2_ASSIGN_OR_RETURN(tls::Signer signer, tls::Signer::FromKeyPem(key));
    Parts* p = parts.get();
    absl::StatusOr<std::unique_ptr<HostReporter>> started = HostReporter::Start(
        {.host_id = host_id, .targets = config.report_to, .interval = config.report_interval},
        std::move(signer),
        {.host_info = [p] { return p->host_info.Collect(); },
         .instances =
             [p] {
               absl::StatusOr<v1::ListInstancesResponse> list = p->instances.List(true);
               if (list.ok() && p->game_log != nullptr) AddGameLogStates(*p->game_log, *list);
               return list;
             }},
        p->clock);
    if (!started.ok()) {
      return absl::Status(started.status().code(),
                          absl::StrCat("report: ", started.status().message()));
    }
    parts->reporter = *std::move(started);
    L4D2_LOG(INFO) << "reporting host " << host_id << " to "
                   << absl::StrJoin(config.report_to, ", ") << " every "
                   << absl::FormatDuration(config.report_interval);
  }
  if (parts->game_log != nullptr) {
    absl::flat_hash_set<uint32_t> sources;
    for (const std::string& ip : {parts->log_socket->ip(), config.bind_ip}) {
      in_addr address{};
      if (inet_pton(AF_INET, ip.c_str(), &address) == 1 && address.s_addr != INADDR_ANY) {
        sources.insert(ntohl(address.s_addr));
      }
    }
    parts->game_log->AllowSources(std::move(sources));
    parts->game_log->Start();
    parts->player_watch->Start();
  }
  return std::unique_ptr<AgentProcess>(new AgentProcess(std::move(parts)));
}

AgentProcess::AgentProcess(std::unique_ptr<Parts> parts) : parts_(std::move(parts)) {}

AgentProcess::~AgentProcess() {
  if (parts_->server != nullptr) Shutdown(absl::ZeroDuration());
  parts_->tasks.JoinAll();
}

absl::Status AgentProcess::Start() {
  L4D2_ASSIGN_OR_RETURN(
      parts_->server,
      GrpcServer::Start(parts_->server_options,
                        {{v1::AgentService::service_full_name(), &parts_->agent_service}}));
  std::string listeners;
  if (!parts_->config.listen_tcp.empty()) {
    absl::StrAppend(&listeners, " tcp '", parts_->config.listen_tcp, "' (port ",
                    parts_->server->tcp_port(), ")",
                    parts_->config.plaintext_tcp
                        ? " in plaintext (tests and development only: any local process can "
                          "call every RPC)"
                        : " with mutual TLS");
  }
  if (!parts_->config.listen_unix.empty()) {
    absl::StrAppend(&listeners, " unix '", parts_->config.listen_unix, "'");
  }
  L4D2_LOG(INFO) << "l4d2-agent " << kVersion << " serving root '" << parts_->layout.root()
                 << "' on" << listeners;
  return absl::OkStatus();
}

int AgentProcess::tcp_port() const {
  return parts_->server != nullptr ? parts_->server->tcp_port() : 0;
}

void AgentProcess::Shutdown(absl::Duration grace) {
  if (parts_->server != nullptr) {
    parts_->server->Shutdown(grace);
    parts_->server.reset();
  }
  if (parts_->player_watch != nullptr) parts_->player_watch->Stop();
  if (parts_->game_log != nullptr) parts_->game_log->Stop();
  parts_->tasks.JoinAll();
}

}  // namespace l4d2::agent
