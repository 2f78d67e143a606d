#pragma once

// The controller's configuration: a typed struct from YAML, overridden by flags in main.cc.

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "yaml-cpp/yaml.h"

namespace l4d2::controller {

struct ControllerConfig {
  // Database URL (controller/store/database.h): a SQLite file by default.
  std::string database = "sqlite3:/var/lib/left4me-controller/controller.db";
  size_t database_pool_size = 4;
  // HTTP listen address for the REST API, SSE and the web UI.
  std::string listen_http = "127.0.0.1:8080";
  // Pistache reactor threads, and the threads that run API handlers (they wait on SQL and
  // agents).
  int http_threads = 2;
  int http_workers = 8;
  // The URL browsers and agents reach the controller at ("" = http://<listen_http>): the
  // enrollment command names it; with https:// session cookies are marked Secure (TLS is
  // terminated by a reverse proxy in front of the controller).
  std::string public_url;
  // Browser sessions: ended after this long without a request, and this long after sign-in.
  absl::Duration session_idle = absl::Minutes(30);
  absl::Duration session_lifetime = absl::Hours(12);
  // The web UI's files ("" serves none).
  std::string web_root = "/usr/share/left4me/web";
  // Per client address: connections open at once, and requests without credentials (sign-in,
  // health checks, the web UI's files) as a rate with a burst; 0 turns a limit off. Behind a
  // reverse proxy every client has the proxy's address: raise these there, or limit at the
  // proxy.
  int max_connections_per_address = 1024;
  int unauthenticated_per_second = 100;
  int unauthenticated_burst = 1000;
  // Event streams: per user, and in all.
  int max_streams_per_user = 16;
  int max_streams = 20000;
  absl::Duration shutdown_grace = absl::Seconds(10);
  std::string log_level = "info";
  // The fleet CA and the controller's own certificate (tls/ca_files.h), made at the first start.
  std::string pki_dir = "/var/lib/left4me-controller/pki";
  // Dial agents without TLS: for agents on loopback in development only.
  bool agents_plaintext = false;
  // Host health (fleet/host_monitor.h): how often agents are asked, and how long one may be
  // silent before its host is unreachable.
  absl::Duration health_interval = absl::Seconds(5);
  absl::Duration health_grace = absl::Seconds(15);
  // A host whose disk has less free space than this percentage is "disk low" (an alert);
  // 0: never judged (fleet/host_monitor.h).
  int disk_low_percent = 10;
  // Agent certificates (fleet/enrollment.h, fleet/certificate_renewal.h): how long each one
  // issued lasts, and how long before its expiry it is renewed (checked every renew_interval).
  absl::Duration certificate_lifetime = absl::Hours(24 * 365);
  absl::Duration certificate_renew_before = absl::Hours(24 * 30);
  absl::Duration certificate_renew_interval = absl::Hours(1);
  // Host reports (fleet/host_reports.h): the UDP address the controller receives agents'
  // signed reports on ("" takes none: every host is asked over gRPC), and the address agents
  // are told to send them to at enrollment ("": the host of public_url, or of listen_http,
  // with report_listen's port).
  std::string report_listen = "0.0.0.0:8444";
  std::string report_address;
  // Job workers (jobs/scheduler.h): how many, and how long a claim lasts without renewal (a
  // dead controller's jobs are taken over after it).
  // Workers mostly wait on agents; 16 keep a busy fleet's queue moving (docs/benchmarks.md, P5).
  int job_workers = 16;
  absl::Duration job_lease = absl::Seconds(30);
  // How often due schedules are looked for (fleet/schedule_runner.h): a run starts at most
  // this long after its time.
  absl::Duration schedule_check = absl::Seconds(10);
  // Alerts (fleet/alert_dispatcher.h, docs/alerts.md): whether webhooks may reach loopback and
  // link-local addresses (a receiver on this host; cloud metadata services live there).
  bool alerts_allow_private_targets = false;
  // Servers (fleet/reconciler.h, store/servers.h): how often hosts report their instances, the
  // controller's own restarts of a server that should run and does not (first delay, doubling;
  // how many), the memory placement assumes per server, and how long metrics are kept
  // (store/metric_history.h): samples as taken, 1-minute points, 10-minute points.
  absl::Duration reconcile_interval = absl::Seconds(10);
  absl::Duration restart_backoff = absl::Seconds(10);
  int max_restarts = 5;
  int64_t memory_per_server_mb = 1024;
  absl::Duration metrics_retention = absl::Hours(24);
  absl::Duration metrics_minute_retention = absl::Hours(24 * 7);
  absl::Duration metrics_ten_minute_retention = absl::Hours(24 * 90);
  // History kept (store/retention.h): finished jobs and their events, failed jobs, the audit
  // log; pruned in batches every interval, and written to export_dir first if set.
  absl::Duration retention_jobs = absl::Hours(24 * 30);
  absl::Duration retention_failed_jobs = absl::Hours(24 * 90);
  absl::Duration retention_audit = absl::Hours(24 * 365);
  absl::Duration retention_players = absl::Hours(24 * 90);
  int retention_batch = 500;
  std::string retention_export_dir;
  absl::Duration retention_interval = absl::Minutes(10);
  // Players' Steam names and avatars (fleet/steam_profiles.h): the Web API's base URL, a file
  // holding a Web API key (32 hexadecimal digits; not readable by other users), and how long a
  // profile is kept before Steam is asked again. Without a key Steam is asked nothing and
  // players keep the names the game gave.
  std::string steam_web_api = "https://api.steampowered.com";
  // Every Workshop overlay synced again to every ready host this often (fleet/workshop_refresh.h;
  // 0: never).
  absl::Duration workshop_refresh = absl::Hours(24);
  // The hosts asked whether Steam has a newer build this often (fleet/update_watch.h, a
  // "game.check" job; the update policy says what follows; 0: never by itself).
  absl::Duration update_check = absl::Hours(1);
  std::string steam_web_api_key_file;
  absl::Duration steam_profile_lifetime = absl::Hours(24);
  // Backups asked for without a retention keep this many of a server's (1 to 100) and none
  // older than this (0: no age limit) (docs/backups.md).
  int backups_keep = 7;
  absl::Duration backups_keep_for = absl::Hours(24 * 30);
  // Where every backup is copied off its host, checked, after it is taken (the controller's
  // vault, store/backup_vault.h; "": backups stay on their hosts only). Several controllers
  // must share it.
  std::string backups_vault;
};

absl::StatusOr<ControllerConfig> ParseControllerConfig(const YAML::Node& document);
absl::StatusOr<ControllerConfig> LoadControllerConfig(const std::string& path);
absl::Status ValidateControllerConfig(const ControllerConfig& config);

// The Steam Web API key in `path` (surrounding whitespace ignored). FAILED_PRECONDITION when
// the file is readable by other users or does not hold a key; the error never quotes it.
absl::StatusOr<std::string> LoadSteamWebApiKey(const std::string& path);

// Where agents send host reports, as enrollment tells them: report_address if set, else the
// host of public_url (or of listen_http; the machine's name for a wildcard address) with
// `port`, the port report_listen is bound to.
std::string ReportAddress(const ControllerConfig& config, int port);

}  // namespace l4d2::controller
