#include "controller/config/controller_config.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/file_util.h"
#include "common/host_port.h"
#include "common/logging.h"
#include "common/status_macros.h"
#include "common/steam/steam_web_api.h"
#include "common/yaml_document.h"

namespace l4d2::controller {

absl::StatusOr<ControllerConfig> ParseControllerConfig(const YAML::Node& document) {
  ControllerConfig config;
  YamlMapReader root(document, "");
  root.String("database", &config.database);
  int64_t pool = static_cast<int64_t>(config.database_pool_size);
  root.Int("database_pool_size", &pool, 1, 64);
  config.database_pool_size = static_cast<size_t>(pool);
  root.String("listen_http", &config.listen_http);
  root.Int("http_threads", &config.http_threads, 1, 64);
  root.Int("http_workers", &config.http_workers, 1, 256);
  root.String("public_url", &config.public_url);
  root.String("web_root", &config.web_root);
  root.Duration("session_idle", &config.session_idle);
  root.Duration("session_lifetime", &config.session_lifetime);
  root.Int("max_connections_per_address", &config.max_connections_per_address, 0, 1000000);
  root.Int("unauthenticated_per_second", &config.unauthenticated_per_second, 0, 1000000);
  root.Int("unauthenticated_burst", &config.unauthenticated_burst, 1, 1000000);
  root.Int("max_streams_per_user", &config.max_streams_per_user, 1, 10000);
  root.Int("max_streams", &config.max_streams, 1, 1000000);
  root.Duration("shutdown_grace", &config.shutdown_grace);
  root.String("log_level", &config.log_level);
  root.String("pki_dir", &config.pki_dir);
  YamlMapReader agents(root.Map("agents"), root.Child("agents"));
  agents.Bool("plaintext", &config.agents_plaintext);
  agents.Duration("health_interval", &config.health_interval);
  agents.Duration("health_grace", &config.health_grace);
  agents.Int("disk_low_percent", &config.disk_low_percent, 0, 50);
  agents.String("report_listen", &config.report_listen);
  agents.String("report_address", &config.report_address);
  agents.Duration("certificate_lifetime", &config.certificate_lifetime);
  agents.Duration("certificate_renew_before", &config.certificate_renew_before);
  agents.Duration("certificate_renew_interval", &config.certificate_renew_interval);
  YamlMapReader jobs(root.Map("jobs"), root.Child("jobs"));
  jobs.Int("workers", &config.job_workers, 1, 256);
  jobs.Duration("lease", &config.job_lease);
  jobs.Duration("schedule_check", &config.schedule_check);
  YamlMapReader servers(root.Map("servers"), root.Child("servers"));
  servers.Duration("reconcile_interval", &config.reconcile_interval);
  servers.Duration("restart_backoff", &config.restart_backoff);
  servers.Int("max_restarts", &config.max_restarts, 0, 100);
  servers.Int("memory_per_server_mb", &config.memory_per_server_mb, int64_t{0}, int64_t{1} << 20);
  servers.Duration("metrics_retention", &config.metrics_retention);
  servers.Duration("metrics_minute_retention", &config.metrics_minute_retention);
  servers.Duration("metrics_ten_minute_retention", &config.metrics_ten_minute_retention);
  YamlMapReader retention(root.Map("retention"), root.Child("retention"));
  retention.Duration("jobs", &config.retention_jobs);
  retention.Duration("failed_jobs", &config.retention_failed_jobs);
  retention.Duration("audit", &config.retention_audit);
  retention.Duration("players", &config.retention_players);
  retention.Int("batch", &config.retention_batch, 1, 100000);
  retention.String("export_dir", &config.retention_export_dir);
  retention.Duration("interval", &config.retention_interval);
  YamlMapReader overlays(root.Map("overlays"), root.Child("overlays"));
  overlays.Duration("workshop_refresh", &config.workshop_refresh);
  L4D2_RETURN_IF_ERROR(overlays.Finish());
  YamlMapReader updates(root.Map("updates"), root.Child("updates"));
  updates.Duration("check", &config.update_check);
  L4D2_RETURN_IF_ERROR(updates.Finish());
  YamlMapReader backups(root.Map("backups"), root.Child("backups"));
  backups.Int("keep", &config.backups_keep, 1, 100);
  backups.Duration("keep_for", &config.backups_keep_for);
  backups.String("vault", &config.backups_vault);
  L4D2_RETURN_IF_ERROR(backups.Finish());
  YamlMapReader alerts(root.Map("alerts"), root.Child("alerts"));
  alerts.Bool("allow_private_targets", &config.alerts_allow_private_targets);
  L4D2_RETURN_IF_ERROR(alerts.Finish());
  YamlMapReader steam(root.Map("steam"), root.Child("steam"));
  steam.String("web_api", &config.steam_web_api);
  steam.String("web_api_key_file", &config.steam_web_api_key_file);
  steam.Duration("profile_lifetime", &config.steam_profile_lifetime);
  L4D2_RETURN_IF_ERROR(steam.Finish());
  L4D2_RETURN_IF_ERROR(retention.Finish());
  L4D2_RETURN_IF_ERROR(servers.Finish());
  L4D2_RETURN_IF_ERROR(jobs.Finish());
  L4D2_RETURN_IF_ERROR(agents.Finish());
  L4D2_RETURN_IF_ERROR(root.Finish());
  L4D2_RETURN_IF_ERROR(ValidateControllerConfig(config));
  return config;
}

absl::StatusOr<ControllerConfig> LoadControllerConfig(const std::string& path) {
  L4D2_ASSIGN_OR_RETURN(YAML::Node document, LoadYamlFile(path));
  absl::StatusOr<ControllerConfig> config = ParseControllerConfig(document);
  if (!config.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("config '", path, "': ", config.status().message()));
  }
  return config;
}

absl::Status ValidateControllerConfig(const ControllerConfig& config) {
  if (config.database.empty()) return absl::InvalidArgumentError("database: must not be empty");
  if (config.listen_http.find(':') == std::string::npos) {
    return absl::InvalidArgumentError("listen_http: expected host:port");
  }
  if (!config.report_listen.empty() && !SplitHostPort(config.report_listen).has_value()) {
    return absl::InvalidArgumentError("agents.report_listen: expected host:port, or \"\"");
  }
  if (config.health_interval < absl::Seconds(1) || config.health_grace < config.health_interval) {
    return absl::InvalidArgumentError(
        "agents: health_interval at least 1s, health_grace at least health_interval");
  }
  if (config.certificate_lifetime < absl::Minutes(1) ||
      config.certificate_renew_before >= config.certificate_lifetime ||
      config.certificate_renew_before < 3 * config.certificate_renew_interval ||
      config.certificate_renew_interval < absl::Seconds(1)) {
    return absl::InvalidArgumentError(
        "agents: certificate_lifetime at least 1m, certificate_renew_before less than it and at "
        "least three certificate_renew_interval (each due host is tried every interval), "
        "certificate_renew_interval at least 1s");
  }
  if (!config.public_url.empty() && config.public_url.rfind("http://", 0) != 0 &&
      config.public_url.rfind("https://", 0) != 0) {
    return absl::InvalidArgumentError("public_url: expected http://... or https://...");
  }
  if (config.session_idle < absl::Minutes(1) || config.session_lifetime < config.session_idle) {
    return absl::InvalidArgumentError(
        "session_idle: at least 1m; session_lifetime: at least session_idle");
  }
  if (config.schedule_check < absl::Seconds(1) || config.schedule_check > absl::Minutes(1)) {
    return absl::InvalidArgumentError("jobs.schedule_check: 1s to 1m");
  }
  if (config.job_lease < absl::Seconds(1)) {
    return absl::InvalidArgumentError("jobs.lease: at least 1s");
  }
  if (config.reconcile_interval < absl::Seconds(1) || config.restart_backoff < absl::Seconds(1) ||
      config.metrics_retention < absl::Hours(1)) {
    return absl::InvalidArgumentError(
        "servers: reconcile_interval and restart_backoff at least 1s, metrics_retention at "
        "least 1h");
  }
  if (config.metrics_minute_retention < config.metrics_retention ||
      config.metrics_ten_minute_retention < config.metrics_minute_retention) {
    return absl::InvalidArgumentError(
        "servers: metrics_minute_retention at least metrics_retention, "
        "metrics_ten_minute_retention at least metrics_minute_retention");
  }
  if (config.retention_jobs < absl::Hours(1) || config.retention_failed_jobs < absl::Hours(1) ||
      config.retention_audit < absl::Hours(1) || config.retention_players < absl::Hours(1) ||
      config.retention_interval < absl::Seconds(1)) {
    return absl::InvalidArgumentError(
        "retention: jobs, failed_jobs, audit and players at least 1h, interval at least 1s");
  }
  if (!config.retention_export_dir.empty() && config.retention_export_dir.front() != '/') {
    return absl::InvalidArgumentError("retention.export_dir: must be an absolute path");
  }
  if (config.steam_web_api.rfind("http://", 0) != 0 &&
      config.steam_web_api.rfind("https://", 0) != 0) {
    return absl::InvalidArgumentError("steam.web_api: expected http://... or https://...");
  }
  if (!config.steam_web_api_key_file.empty() && config.steam_web_api_key_file.front() != '/') {
    return absl::InvalidArgumentError("steam.web_api_key_file: must be an absolute path");
  }
  if (config.update_check != absl::ZeroDuration() && config.update_check < absl::Minutes(5)) {
    return absl::InvalidArgumentError("updates.check: 0s (never) or at least 5m");
  }
  if (config.workshop_refresh != absl::ZeroDuration() &&
      config.workshop_refresh < absl::Minutes(1)) {
    return absl::InvalidArgumentError("overlays.workshop_refresh: 0s (never) or at least 1m");
  }
  if (config.backups_keep_for != absl::ZeroDuration() && config.backups_keep_for < absl::Hours(1)) {
    return absl::InvalidArgumentError("backups.keep_for: 0s (no age limit) or at least 1h");
  }
  if (config.steam_profile_lifetime < absl::Minutes(1)) {
    return absl::InvalidArgumentError("steam.profile_lifetime: at least 1m");
  }
  if (config.pki_dir.empty() || config.pki_dir.front() != '/') {
    return absl::InvalidArgumentError("pki_dir: must be an absolute path");
  }
  LogSeverity severity;
  if (!ParseLogSeverity(config.log_level, &severity)) {
    return absl::InvalidArgumentError("log_level: expected debug, info, warning or error");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> LoadSteamWebApiKey(const std::string& path) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) return ErrnoError(errno, "stat", path);
  if ((info.st_mode & S_IROTH) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("steam.web_api_key_file '", path, "' is readable by other users (chmod o-r)"));
  }
  L4D2_ASSIGN_OR_RETURN(std::string text, ReadFileToString(path, 4096));
  const std::string key(absl::StripAsciiWhitespace(text));
  if (!IsSteamWebApiKey(key)) {
    return absl::FailedPreconditionError(
        absl::StrCat("steam.web_api_key_file '", path,
                     "' does not hold a Steam Web API key (32 hexadecimal "
                     "digits)"));
  }
  return key;
}

std::string ReportAddress(const ControllerConfig& config, int port) {
  if (!config.report_address.empty()) return config.report_address;
  std::string host;
  if (!config.public_url.empty()) {
    absl::string_view rest = config.public_url;
    rest.remove_prefix(rest.find("://") + 3);
    rest = rest.substr(0, rest.find('/'));
    // "[v6]:port", "[v6]", "name:port", "name".
    host = rest.empty()          ? ""
           : rest.front() == '[' ? std::string(rest.substr(0, rest.find(']') + 1))
                                 : std::string(rest.substr(0, rest.find(':')));
  } else if (std::optional<HostPort> listen = SplitHostPort(config.listen_http)) {
    host = listen->host.find(':') == std::string::npos ? listen->host : "[" + listen->host + "]";
  }
  if (host.empty() || host == "0.0.0.0" || host == "[::]") {
    char name[256] = {};
    gethostname(name, sizeof(name) - 1);
    host = name;
  }
  return absl::StrCat(host, ":", port);
}

}  // namespace l4d2::controller
