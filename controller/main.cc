// l4d2-controller: the fleet's source of truth and its HTTP API.
//
//   l4d2-controller [--config FILE] [serve]   migrate the database, then serve HTTP
//   l4d2-controller [--config FILE] migrate   apply database migrations and exit
//   l4d2-controller [--config FILE] admin create --username NAME
//       create an administrator; the password comes from L4D2_ADMIN_PASSWORD or standard input
//       (never from the command line)

#include <malloc.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/lock_checks.h"
#include "common/logging.h"
#include "common/program_usage.h"
#include "common/secret_input.h"
#include "common/termination_signals.h"
#include "common/version.h"
#include "controller/api/controller_api.h"
#include "controller/config/controller_config.h"
#include "controller/fleet/enrollment.h"
#include "controller/fleet/host_monitor.h"
#include "controller/fleet/reconciler.h"
#include "controller/fleet/report_receiver.h"
#include "controller/fleet/report_sources.h"
#include "controller/jobs/scheduler.h"
#include "controller/store/audit_log.h"
#include "controller/store/database.h"
#include "controller/store/fleet_stores.h"
#include "controller/store/hosts.h"
#include "controller/store/job_queue.h"
#include "controller/store/migrations.h"
#include "controller/store/users.h"
#include "controller/usecases/accounts.h"
#include "controller/usecases/hosts.h"
#include "tls/ca_files.h"

ABSL_FLAG(std::string, config, "", "YAML config file; flags given here override its values");
ABSL_FLAG(std::optional<std::string>, database, std::nullopt,
          "database URL: sqlite3:/path/file.db (default "
          "sqlite3:/var/lib/left4me-controller/controller.db) or postgresql:<conninfo>");
ABSL_FLAG(std::optional<std::string>, listen_http, std::nullopt,
          "HTTP listen address host:port (default 127.0.0.1:8080)");
ABSL_FLAG(std::optional<std::string>, report_listen, std::nullopt,
          "UDP address host:port the agents' signed host reports arrive on (default "
          "0.0.0.0:8444; empty: none, every host is asked over gRPC)");
ABSL_FLAG(std::optional<std::string>, web_root, std::nullopt,
          "the web UI's files, served for paths outside /api/ (default /usr/share/left4me/web; "
          "empty: none)");
ABSL_FLAG(std::optional<std::string>, log_level, std::nullopt,
          "debug, info, warning or error (default info)");
ABSL_FLAG(std::optional<std::string>, pki_dir, std::nullopt,
          "the fleet CA and the controller's certificate, made at the first start (default "
          "/var/lib/left4me-controller/pki)");
ABSL_FLAG(std::string, username, "", "admin create: the new administrator's username");
ABSL_FLAG(std::string, name, "", "host create: the host's name ([a-z0-9][a-z0-9_-]*)");
ABSL_FLAG(std::string, address, "", "host create: the agent's gRPC address, host:port");
ABSL_FLAG(absl::Duration, token_ttl, absl::Hours(24),
          "host create: how long the enrollment token stays valid");
ABSL_FLAG(std::string, controller_url, "",
          "host create: the controller's URL as agents reach it, for the printed command "
          "(default http://<listen_http>)");
ABSL_FLAG(bool, version, false, "print the version and exit");

namespace {

using l4d2::controller::ControllerConfig;

absl::StatusOr<ControllerConfig> BuildConfig() {
  ControllerConfig config;
  if (std::string path = absl::GetFlag(FLAGS_config); !path.empty()) {
    absl::StatusOr<ControllerConfig> loaded = l4d2::controller::LoadControllerConfig(path);
    if (!loaded.ok()) return loaded.status();
    config = *std::move(loaded);
  }
  if (auto v = absl::GetFlag(FLAGS_database)) config.database = *v;
  if (auto v = absl::GetFlag(FLAGS_listen_http)) config.listen_http = *v;
  if (auto v = absl::GetFlag(FLAGS_report_listen)) config.report_listen = *v;
  if (auto v = absl::GetFlag(FLAGS_log_level)) config.log_level = *v;
  if (auto v = absl::GetFlag(FLAGS_web_root)) config.web_root = *v;
  if (auto v = absl::GetFlag(FLAGS_pki_dir)) config.pki_dir = *v;
  absl::Status valid = l4d2::controller::ValidateControllerConfig(config);
  if (!valid.ok()) return valid;
  return config;
}

// `admin create`: the first administrator (or another); the password is typed or comes from
// L4D2_ADMIN_PASSWORD, never from the command line.
int CreateAdmin(l4d2::controller::Database& db) {
  const std::string password =
      l4d2::ReadSecret("L4D2_ADMIN_PASSWORD", "password for the new administrator: ");
  l4d2::Clock& clock = l4d2::Clock::Real();
  l4d2::controller::UserStore users(db, clock);
  l4d2::controller::SessionStore sessions(db, clock);
  l4d2::controller::ApiTokenStore tokens(db, clock);
  l4d2::controller::AuditLog audit(db, clock);
  l4d2::controller::AccountStores accounts{
      .users = users, .sessions = sessions, .tokens = tokens, .audit = audit};
  absl::StatusOr<l4d2::controller::User> user = l4d2::controller::CreateUser(
      accounts, "cli", absl::GetFlag(FLAGS_username), password, l4d2::controller::Role::kAdmin);
  if (!user.ok()) {
    std::cerr << "l4d2-controller: " << user.status().message() << "\n";
    return absl::IsInvalidArgument(user.status()) ? 2 : 1;
  }
  std::cout << "administrator '" << user->username << "' created (id " << user->id << ")\n";
  return 0;
}

// `host create`: a new host and its one-time enrollment token, shown this once.
int CreateHost(l4d2::controller::Database& db, const ControllerConfig& config) {
  l4d2::controller::FleetStores stores(db, l4d2::Clock::Real());
  std::string url = absl::GetFlag(FLAGS_controller_url);
  if (url.empty()) url = "http://" + config.listen_http;
  absl::StatusOr<l4d2::controller::CreatedHost> created = l4d2::controller::CreateHost(
      stores, "cli", {.name = absl::GetFlag(FLAGS_name), .address = absl::GetFlag(FLAGS_address)},
      absl::GetFlag(FLAGS_token_ttl), url);
  if (!created.ok()) {
    std::cerr << "l4d2-controller: " << created.status().message() << "\n";
    return absl::IsInvalidArgument(created.status()) ? 2 : 1;
  }
  std::cout << "host '" << created->host.name << "' created (id " << created->host.id
            << "), enrolling until " << absl::FormatTime(created->token_expires_at)
            << ".\nEnrollment token (shown once): " << created->enrollment_token
            << "\nOn the host, with the token in a file only root can read:\n  "
            << created->enroll_command << "\n";
  return 0;
}

int Run(const std::string& command) {
  absl::StatusOr<ControllerConfig> config = BuildConfig();
  if (!config.ok()) {
    std::cerr << "l4d2-controller: " << config.status().message() << "\n";
    return 2;
  }
  l4d2::LogSeverity severity;
  l4d2::ParseLogSeverity(config->log_level, &severity);
  l4d2::SetMinLogSeverity(severity);

  auto db = l4d2::controller::Database::Open(
      {.url = config->database, .pool_size = config->database_pool_size});
  if (!db.ok()) {
    L4D2_LOG(ERROR) << db.status().message();
    return 1;
  }
  absl::Status migrated = l4d2::controller::ApplyMigrations(
      **db, l4d2::controller::ControllerMigrations(), l4d2::Clock::Real());
  if (!migrated.ok()) {
    L4D2_LOG(ERROR) << migrated.message();
    return 1;
  }
  absl::StatusOr<int64_t> version = l4d2::controller::SchemaVersion(**db);
  L4D2_LOG(INFO) << (*db)->backend_name() << " database at schema version "
                 << (version.ok() ? *version : -1);
  if (command == "migrate") return 0;
  if (command == "admin create") return CreateAdmin(**db);
  if (command == "host create") return CreateHost(**db, *config);

  absl::StatusOr<l4d2::tls::ControllerPki> pki =
      l4d2::tls::LoadOrCreateControllerPki(config->pki_dir);
  if (!pki.ok()) {
    L4D2_LOG(ERROR) << "pki_dir: " << pki.status().message();
    return 1;
  }
  l4d2::Clock& clock = l4d2::Clock::Real();
  l4d2::controller::FleetStores stores(**db, clock);
  l4d2::controller::Enrollment enrollment(stores.hosts, pki->ca, &stores.audit);
  // Agents are dialled with mutual TLS and the controller's own certificate (made with the
  // CA at the first start), unless development asks for plaintext.
  std::unique_ptr<l4d2::controller::AgentConnector> agents;
  if (config->agents_plaintext) {
    agents = std::make_unique<l4d2::controller::PlaintextAgentConnector>();
  } else {
    agents = std::make_unique<l4d2::controller::MutualTlsAgentConnector>(
        l4d2::controller::ControllerTls{.certificate_pem = pki->controller_certificate_pem,
                                        .key_pem = pki->controller_key_pem,
                                        .ca_pem = pki->ca.certificate_pem()});
  }

  // Host health and the reconciler hear from hosts through their signed reports, and ask over
  // gRPC only those whose report did not come (fleet/report_sources.h). A silent host is marked
  // at most health_grace + the round's ping timeout after it was last heard from (15 + 3 s
  // with the defaults: within security.md's 20 s).
  l4d2::controller::HostReportBook reports(
      [&stores](const std::string& id) { return stores.hosts.Certificate(id); }, clock);
  std::unique_ptr<l4d2::controller::ReportReceiver> receiver;
  if (!config->report_listen.empty()) {
    absl::StatusOr<std::unique_ptr<l4d2::controller::ReportReceiver>> started =
        l4d2::controller::ReportReceiver::Start(config->report_listen, reports);
    if (!started.ok()) {
      L4D2_LOG(ERROR) << "agents.report_listen: " << started.status().message();
      return 1;
    }
    receiver = *std::move(started);
    const std::string report_to = l4d2::controller::ReportAddress(*config, receiver->port());
    enrollment.set_report_to(report_to);
    L4D2_LOG(INFO) << "receiving host reports on UDP '" << config->report_listen << "' (port "
                   << receiver->port() << "); agents are told to send them to '" << report_to
                   << "'";
  }
  // A round waits for the reports of the interval and a second more.
  const absl::Duration freshness = config->health_interval + absl::Seconds(1);
  l4d2::controller::AgentPinger agent_pinger(*agents, absl::Seconds(3));
  l4d2::controller::ReportedHostPinger pinger(reports, agent_pinger, clock, freshness);
  // The HTTP API: sessions and tokens, event streams, the routes.
  auto api = l4d2::controller::ControllerApi::Start(
      **db, stores, *agents, clock,
      {.http = {.address = config->listen_http,
                .threads = config->http_threads,
                .workers = config->http_workers,
                .version = l4d2::kVersion,
                .web_root = config->web_root},
       .rest = {.public_url = config->public_url.empty() ? "http://" + config->listen_http
                                                         : config->public_url},
       .sessions = {.idle = config->session_idle, .lifetime = config->session_lifetime},
       .streams = {.max_streams_per_user = config->max_streams_per_user,
                   .max_clients = config->max_streams},
       .more_metrics = [&] { return l4d2::controller::HostReportMetrics(reports, pinger); }},
      &enrollment);
  if (!api.ok()) {
    L4D2_LOG(ERROR) << api.status().message();
    return 1;
  }
  char hostname[256] = {};
  gethostname(hostname, sizeof(hostname) - 1);
  // This process among the controllers on the database: owner of its job leases and of the
  // reconciler's lease.
  const std::string owner =
      absl::StrCat(hostname, "-", getpid(), "-", absl::ToUnixMicros(clock.Now()));
  l4d2::controller::Scheduler scheduler(
      stores, *agents,
      {.owner = owner,
       .workers = config->job_workers,
       .lease = config->job_lease,
       .placement = {.memory_per_server_bytes = config->memory_per_server_mb << 20}});
  scheduler.Start();
  l4d2::controller::HostMonitor monitor(
      stores.hosts, pinger, l4d2::Clock::Real(),
      {.interval = config->health_interval, .grace = config->health_grace}, &stores.audit);
  monitor.Start();
  l4d2::controller::AgentInstanceLister agent_lister(*agents, absl::Seconds(5));
  l4d2::controller::ReportedInstanceLister lister(reports, agent_lister, clock, freshness);
  l4d2::controller::Reconciler reconciler(stores, lister,
                                          {.owner = owner,
                                           .interval = config->reconcile_interval,
                                           .restart_backoff = config->restart_backoff,
                                           .max_restarts = config->max_restarts,
                                           .metrics_retention = config->metrics_retention,
                                           .observation_lag = freshness});
  reconciler.Start();
  L4D2_LOG(INFO) << "l4d2-controller " << l4d2::kVersion << " serving HTTP on '"
                 << config->listen_http << "' (port " << (*api)->port() << ")";
  int signal_number = l4d2::WaitForTerminationSignal();
  L4D2_LOG(INFO) << "signal " << signal_number << ", shutting down";
  reconciler.Stop();
  monitor.Stop();
  receiver.reset();
  scheduler.Stop();
  (*api)->Stop();
  L4D2_LOG(INFO) << "stopped";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  l4d2::BlockTerminationSignals();
  l4d2::DisableLockOrderChecks();
  // Two malloc arenas instead of eight per core: gRPC's threads otherwise spread thousands of
  // agent channels over many half-empty arenas (P8: 381 -> 316 MB with 5,000 hosts).
  mallopt(M_ARENA_MAX, 2);
  // A connection per host: thousands of hosts need more descriptors than the usual soft limit
  // of 1024. Up to the hard limit (systemd's default hard limit is 524288).
  rlimit files{};
  if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    setrlimit(RLIMIT_NOFILE, &files);
  }
  l4d2::SetProgramUsage(
      "l4d2-controller [--config FILE] [flags] [serve|migrate|admin create --username NAME|\n"
      "  host create --name NAME --address HOST:PORT [--token_ttl 24h]]\n"
      "The fleet controller of left4me: database, job scheduler, REST API and web UI.");
  std::vector<char*> args = absl::ParseCommandLine(argc, argv);
  if (absl::GetFlag(FLAGS_version)) {
    std::cout << "l4d2-controller " << l4d2::kVersion << "\n";
    return 0;
  }
  std::string command = args.size() > 1 ? args[1] : "serve";
  if (args.size() == 3) command = absl::StrCat(args[1], " ", args[2]);
  if (args.size() > 3 || (command != "serve" && command != "migrate" && command != "admin create" &&
                          command != "host create")) {
    std::cerr << "l4d2-controller: unknown command; usage: l4d2-controller "
                 "[serve|migrate|admin create --username NAME|host create --name NAME "
                 "--address HOST:PORT]\n";
    return 2;
  }
  if (command == "host create" &&
      (absl::GetFlag(FLAGS_name).empty() || absl::GetFlag(FLAGS_address).empty())) {
    std::cerr << "l4d2-controller: host create needs --name and --address\n";
    return 2;
  }
  if (command == "admin create" && absl::GetFlag(FLAGS_username).empty()) {
    std::cerr << "l4d2-controller: admin create needs --username\n";
    return 2;
  }
  return Run(command);
}
