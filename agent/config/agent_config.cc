#include "agent/config/agent_config.h"

#include <arpa/inet.h>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/host_port.h"
#include "common/logging.h"
#include "common/status_macros.h"
#include "common/yaml_document.h"

namespace l4d2::agent {
namespace {

bool IsLoopback(const std::string& host) {
  if (host == "localhost") return true;
  in_addr v4;
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6;
  return inet_pton(AF_INET6, host.c_str(), &v6) == 1 && IN6_IS_ADDR_LOOPBACK(&v6);
}

}  // namespace

absl::StatusOr<AgentConfig> ParseAgentConfig(const YAML::Node& document) {
  AgentConfig config;
  YamlMapReader root(document, "");
  root.String("root", &config.root);
  root.String("steamcmd", &config.steamcmd);
  YamlMapReader steam(root.Map("steam"), root.Child("steam"));
  steam.String("home", &config.steam_home);
  steam.String("client_dir", &config.steamcmd_client_dir);
  steam.String("account_file", &config.steam_account_file);
  steam.Duration("no_progress_timeout", &config.steamcmd_no_progress_timeout);
  steam.String("web_api", &config.steam_web_api);
  L4D2_RETURN_IF_ERROR(steam.Finish());
  root.Duration("shutdown_grace", &config.shutdown_grace);
  root.String("log_level", &config.log_level);

  YamlMapReader listen(root.Map("listen"), root.Child("listen"));
  listen.String("tcp", &config.listen_tcp);
  listen.Bool("plaintext_tcp", &config.plaintext_tcp);
  YamlMapReader tls(listen.Map("tls"), listen.Child("tls"));
  tls.String("certificate", &config.tls_certificate);
  tls.String("key", &config.tls_key);
  tls.String("ca", &config.tls_ca);
  tls.Duration("reload", &config.tls_reload);
  L4D2_RETURN_IF_ERROR(tls.Finish());
  listen.String("unix", &config.listen_unix);
  std::string mode;
  listen.String("unix_mode", &mode);
  if (!mode.empty()) {
    int parsed = 0;
    if (!absl::numbers_internal::safe_strtoi_base(mode, &parsed, 8) || parsed < 0 ||
        parsed > 0777) {
      listen.Fail("unix_mode", "expected an octal mode such as \"0660\"");
    } else {
      config.unix_socket_mode = static_cast<mode_t>(parsed);
    }
  }
  listen.String("unix_group", &config.unix_socket_group);
  L4D2_RETURN_IF_ERROR(listen.Finish());

  YamlMapReader report(root.Map("report"), root.Child("report"));
  report.StringList("to", &config.report_to);
  report.Duration("interval", &config.report_interval);
  L4D2_RETURN_IF_ERROR(report.Finish());

  YamlMapReader systemd(root.Map("systemd"), root.Child("systemd"));
  std::string scope;
  systemd.String("scope", &scope);
  if (!scope.empty() && scope != "system" && scope != "user") {
    systemd.Fail("scope", "expected system or user");
  }
  config.systemd_user_manager = scope == "user";
  systemd.String("systemctl", &config.systemctl_command);
  systemd.String("unit_dir", &config.unit_dir);
  systemd.String("unit_prefix", &config.unit_prefix);
  systemd.String("slice", &config.slice);
  systemd.String("overlay_helper", &config.overlay_helper);
  systemd.String("console_helper", &config.console_helper);
  systemd.String("server_users", &config.server_users);
  systemd.Bool("hardening", &config.unit_hardening);
  L4D2_RETURN_IF_ERROR(systemd.Finish());

  YamlMapReader limits(root.Map("server_limits"), root.Child("server_limits"));
  limits.Int("memory_high_mib", &config.server_memory_high_mib, 0, int64_t{1} << 30);
  limits.Int("memory_max_mib", &config.server_memory_max_mib, 0, int64_t{1} << 30);
  limits.Int("tasks_max", &config.server_tasks_max, 0, 100000);
  limits.Int("cpu_quota_percent", &config.server_cpu_quota_percent, 0, 100000);
  limits.String("reserved_cpus", &config.reserved_cpus);
  limits.Int("nice", &config.server_nice, -20, 19);
  L4D2_RETURN_IF_ERROR(limits.Finish());
  root.String("bind_ip", &config.bind_ip);
  YamlMapReader game_log(root.Map("game_log"), root.Child("game_log"));
  game_log.String("listen", &config.game_log_listen);
  game_log.Int("port", &config.game_log_port, 0, 65535);
  L4D2_RETURN_IF_ERROR(game_log.Finish());

  YamlMapReader scripts(root.Map("scripts"), root.Child("scripts"));
  scripts.String("user", &config.script_user);
  scripts.String("bwrap", &config.bwrap);
  scripts.String("systemd_run", &config.systemd_run_command);
  scripts.Int("memory_max_mib", &config.script_memory_max_mib, int64_t{64}, int64_t{1} << 20);
  scripts.Int("disk_quota_mib", &config.script_disk_quota_mib, int64_t{1}, int64_t{1} << 20);
  L4D2_RETURN_IF_ERROR(scripts.Finish());
  root.String("fetch_helper", &config.fetch_helper);
  root.String("fetch_user", &config.fetch_user);

  YamlMapReader ports(root.Map("ports"), root.Child("ports"));
  ports.Int("first", &config.port_first, 1024, 65535);
  ports.Int("last", &config.port_last, 1024, 65535);
  L4D2_RETURN_IF_ERROR(ports.Finish());

  L4D2_RETURN_IF_ERROR(root.Finish());
  L4D2_RETURN_IF_ERROR(ValidateAgentConfig(config));
  return config;
}

absl::StatusOr<AgentConfig> LoadAgentConfig(const std::string& path) {
  L4D2_ASSIGN_OR_RETURN(YAML::Node document, LoadYamlFile(path));
  absl::StatusOr<AgentConfig> config = ParseAgentConfig(document);
  if (!config.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("config '", path, "': ", config.status().message()));
  }
  return config;
}

namespace {

// A name systemd units are made of: systemd.unit_prefix, systemd.slice.
absl::Status ValidateUnitNamePart(absl::string_view key, const std::string& value) {
  bool ok = !value.empty() && value.size() <= 32 && absl::ascii_islower(value.front());
  for (char c : value) ok = ok && (absl::ascii_islower(c) || absl::ascii_isdigit(c) || c == '-');
  if (!ok) {
    return absl::InvalidArgumentError(absl::StrCat(
        key, ": lower-case letters, digits and '-', starting with a letter, at most 32"));
  }
  return absl::OkStatus();
}

// systemd.*, server_limits.*.
absl::Status ValidateUnits(const AgentConfig& config) {
  L4D2_RETURN_IF_ERROR(ValidateUnitNamePart("systemd.unit_prefix", config.unit_prefix));
  L4D2_RETURN_IF_ERROR(ValidateUnitNamePart("systemd.slice", config.slice));
  // The list itself is checked against the host's CPUs at start (agent/host/cpu_list.h).
  if (config.reserved_cpus.empty() ||
      (config.reserved_cpus != "auto" && config.reserved_cpus != "none" &&
       config.reserved_cpus.find_first_not_of("0123456789,-") != std::string::npos)) {
    return absl::InvalidArgumentError(
        "server_limits.reserved_cpus: expected auto, none or a CPU list such as 0-1");
  }
  return absl::OkStatus();
}

// listen.*, listen.tls.* and report.*.
absl::Status ValidateListenersAndReports(const AgentConfig& config) {
  if (config.listen_tcp.empty() && config.listen_unix.empty()) {
    return absl::InvalidArgumentError("listen: enable at least one of tcp and unix");
  }
  if (!config.listen_tcp.empty()) {
    const std::optional<HostPort> address = SplitHostPort(config.listen_tcp);
    if (!address.has_value()) {
      return absl::InvalidArgumentError(
          absl::StrCat("listen.tcp: expected host:port, got '", config.listen_tcp, "'"));
    }
    if (config.tls_certificate.empty() && !config.plaintext_tcp) {
      return absl::InvalidArgumentError(absl::StrCat(
          "listen.tcp: '", config.listen_tcp,
          "' needs mutual TLS (listen.tls, written by enroll): without it any process of this "
          "host, game servers included, could call every RPC; local clients use listen.unix "
          "(listen.plaintext_tcp: true serves TCP without TLS, for tests and development only)"));
    }
    if (config.plaintext_tcp && !IsLoopback(address->host)) {
      return absl::InvalidArgumentError(
          absl::StrCat("listen.tcp: '", config.listen_tcp,
                       "' is not a loopback address: listen.plaintext_tcp serves loopback only"));
    }
  }
  if (!config.listen_unix.empty() && config.listen_unix.front() != '/') {
    return absl::InvalidArgumentError("listen.unix: must be an absolute path");
  }
  if (!config.report_to.empty() && config.tls_certificate.empty()) {
    return absl::InvalidArgumentError(
        "report.to: reports are signed with the enrolled key: configure listen.tls");
  }
  for (const std::string& target : config.report_to) {
    const std::optional<HostPort> address = SplitHostPort(target);
    if (!address.has_value() || address->port == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("report.to: expected host:port, got '", target, "'"));
    }
  }
  if (config.report_interval < absl::Seconds(1) || config.report_interval > absl::Minutes(1)) {
    return absl::InvalidArgumentError("report.interval: from 1s to 1m");
  }
  const int tls_files =
      !config.tls_certificate.empty() + !config.tls_key.empty() + !config.tls_ca.empty();
  if (tls_files != 0 && tls_files != 3) {
    return absl::InvalidArgumentError("listen.tls: certificate, key and ca together, or none");
  }
  if (config.tls_reload < absl::Seconds(1) || config.tls_reload > absl::Hours(1)) {
    return absl::InvalidArgumentError("listen.tls.reload: from 1s to 1h");
  }
  return absl::OkStatus();
}

// Ports, programs and paths, scripts, steamcmd's limits.
absl::Status ValidateProgramsAndPaths(const AgentConfig& config) {
  if (config.port_first > config.port_last) {
    return absl::InvalidArgumentError("ports: first must not be greater than last");
  }
  if (config.game_log_listen != "auto" && config.game_log_listen != "off") {
    in_addr address{};
    if (inet_pton(AF_INET, config.game_log_listen.c_str(), &address) != 1 ||
        address.s_addr == htonl(INADDR_ANY) || (ntohl(address.s_addr) >> 24) == 127) {
      return absl::InvalidArgumentError(
          "game_log.listen: \"auto\", \"off\" or an IPv4 address of this host (not 0.0.0.0, "
          "not loopback: the game refuses to send its log to 127.0.0.0/8)");
    }
  }
  if (config.game_log_listen != "off" && config.game_log_port >= config.port_first &&
      config.game_log_port <= config.port_last) {
    return absl::InvalidArgumentError(absl::StrCat(
        "game_log.port: ", config.game_log_port, " is in the servers' ports (", config.port_first,
        "-", config.port_last, "); pick one outside, or 0 for any free one"));
  }
  if (config.steamcmd.empty() || config.steamcmd.front() != '/') {
    return absl::InvalidArgumentError("steamcmd: must be an absolute path");
  }
  for (const auto& [key, path] : {std::pair{"steam.home", &config.steam_home},
                                  std::pair{"steam.client_dir", &config.steamcmd_client_dir},
                                  std::pair{"steam.account_file", &config.steam_account_file}}) {
    if (!path->empty() && path->front() != '/') {
      return absl::InvalidArgumentError(absl::StrCat(key, ": must be an absolute path"));
    }
  }
  if (!config.console_helper.empty() && config.console_helper.front() != '/') {
    return absl::InvalidArgumentError("systemd.console_helper: must be an absolute path");
  }
  if (!config.fetch_helper.empty() && config.fetch_helper.front() != '/') {
    return absl::InvalidArgumentError("fetch_helper: must be an absolute path");
  }
  if (config.bwrap.empty() || config.bwrap.front() != '/') {
    return absl::InvalidArgumentError("scripts.bwrap: must be an absolute path");
  }
  if (!config.systemd_run_command.empty() && config.systemd_run_command.front() != '/') {
    return absl::InvalidArgumentError("scripts.systemd_run: must start with an absolute path");
  }
  if (config.script_user.empty() || config.script_user == "root") {
    return absl::InvalidArgumentError("scripts.user: an unprivileged account is required");
  }
  if (config.steamcmd_no_progress_timeout < absl::Seconds(1)) {
    return absl::InvalidArgumentError("steam.no_progress_timeout: at least 1s");
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateAgentConfig(const AgentConfig& config) {
  if (config.root.empty() || config.root.front() != '/') {
    return absl::InvalidArgumentError("root: must be an absolute path");
  }
  L4D2_RETURN_IF_ERROR(ValidateUnits(config));
  L4D2_RETURN_IF_ERROR(ValidateListenersAndReports(config));
  L4D2_RETURN_IF_ERROR(ValidateProgramsAndPaths(config));
  LogSeverity severity;
  if (!ParseLogSeverity(config.log_level, &severity)) {
    return absl::InvalidArgumentError("log_level: expected debug, info, warning or error");
  }
  return absl::OkStatus();
}

}  // namespace l4d2::agent
