#include "controller/process/controller_process.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <utility>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/http/curl_http_fetcher.h"
#include "common/logging.h"
#include "common/status_macros.h"
#include "common/version.h"
#include "controller/api/controller_api.h"
#include "controller/fleet/alert_dispatcher.h"
#include "controller/fleet/certificate_renewal.h"
#include "controller/fleet/enrollment.h"
#include "controller/fleet/host_monitor.h"
#include "controller/fleet/player_feed.h"
#include "controller/fleet/reconciler.h"
#include "controller/fleet/report_receiver.h"
#include "controller/fleet/report_sources.h"
#include "controller/fleet/schedule_runner.h"
#include "controller/fleet/steam_profiles.h"
#include "controller/fleet/update_watch.h"
#include "controller/fleet/workshop_refresh.h"
#include "controller/jobs/agent_connector.h"
#include "controller/jobs/scheduler.h"
#include "controller/store/backup_vault.h"
#include "controller/store/fleet_stores.h"
#include "controller/store/migrations.h"
#include "controller/store/retention.h"
#include "tls/ca_files.h"

namespace l4d2::controller {

absl::StatusOr<std::unique_ptr<Database>> OpenMigratedDatabase(const ControllerConfig& config,
                                                               Clock& clock) {
  L4D2_ASSIGN_OR_RETURN(
      std::unique_ptr<Database> db,
      Database::Open({.url = config.database, .pool_size = config.database_pool_size}));
  L4D2_RETURN_IF_ERROR(ApplyMigrations(*db, ControllerMigrations(), clock));
  absl::StatusOr<int64_t> version = SchemaVersion(*db);
  L4D2_LOG(INFO) << db->backend_name() << " database at schema version "
                 << (version.ok() ? *version : -1);
  return db;
}

std::string ProcessOwnerName(Clock& clock) {
  char hostname[256] = {};
  gethostname(hostname, sizeof(hostname) - 1);
  return absl::StrCat(hostname, "-", getpid(), "-", absl::ToUnixMicros(clock.Now()));
}

namespace {

// Agents are dialled with mutual TLS and the controller's own certificate (made with the CA at
// the first start), unless development asks for plaintext.
// Each host's agent is pinned to the key of the certificate stored for it (a revoked one is
// refused at the next handshake).
std::unique_ptr<AgentConnector> ConnectorFor(const ControllerConfig& config,
                                             const tls::ControllerPki& pki, HostStore& hosts) {
  if (config.agents_plaintext) return std::make_unique<PlaintextAgentConnector>();
  return std::make_unique<MutualTlsAgentConnector>(
      ControllerTls{.certificate_pem = pki.controller_certificate_pem,
                    .key_pem = pki.controller_key_pem,
                    .ca_pem = pki.ca.certificate_pem()},
      [&hosts](const std::string& id) { return hosts.Certificate(id); });
}

// A round waits for the reports of the interval and a second more.
absl::Duration ReportFreshness(const ControllerConfig& config) {
  return config.health_interval + absl::Seconds(1);
}

}  // namespace

// Every part, in the order they depend on each other (members are built top to bottom and
// destroyed bottom to top).
struct ControllerProcess::Parts {
  Parts(const ControllerConfig& config, std::unique_ptr<Database> database,
        tls::ControllerPki pki_files, const std::string& steam_key,
        std::unique_ptr<BackupVault> backup_vault, Clock& clock_in)
      : config(config),
        clock(clock_in),
        db(std::move(database)),
        pki(std::move(pki_files)),
        vault(std::move(backup_vault)),
        owner(ProcessOwnerName(clock)),
        stores(*db, clock,
               {.raw = config.metrics_retention,
                .minute = config.metrics_minute_retention,
                .ten_minutes = config.metrics_ten_minute_retention}),
        enrollment(stores.hosts, pki.ca, &stores.audit, config.certificate_lifetime),
        agents(ConnectorFor(config, pki, stores.hosts)),
        // Host health and the reconciler hear from hosts through their signed reports, and ask
        // over gRPC only those whose report did not come (fleet/report_sources.h). A silent
        // host is marked at most health_grace + the round's ping timeout after it was last
        // heard from (15 + 3 s with the defaults: within security.md's 20 s).
        reports([this](const std::string& id) { return stores.hosts.Certificate(id); }, clock),
        agent_pinger(*agents, absl::Seconds(3)),
        pinger(reports, agent_pinger, clock, ReportFreshness(config)),
        agent_lister(*agents, absl::Seconds(5)),
        lister(reports, agent_lister, clock, ReportFreshness(config)),
        scheduler(stores, *agents,
                  {.owner = owner,
                   .workers = config.job_workers,
                   .lease = config.job_lease,
                   .placement = {.memory_per_server_bytes = config.memory_per_server_mb << 20},
                   .backups = {.keep = static_cast<uint32_t>(config.backups_keep),
                               .keep_for = config.backups_keep_for},
                   .vault = vault.get(),
                   // Constructed below, before the scheduler starts.
                   .http = &http,
                   .allow_private_targets = config.alerts_allow_private_targets}),
        monitor(stores.hosts, pinger, clock,
                {.interval = config.health_interval,
                 .grace = config.health_grace,
                 .disk_low_percent = config.disk_low_percent},
                &stores.audit),
        reconciler(stores, lister,
                   {.owner = owner,
                    .interval = config.reconcile_interval,
                    .restart_backoff = config.restart_backoff,
                    .max_restarts = config.max_restarts,
                    .observation_lag = ReportFreshness(config)}),
        renewer(stores.hosts, pki.ca, *agents, clock,
                {.lifetime = config.certificate_lifetime,
                 .renew_before = config.certificate_renew_before,
                 .interval = config.certificate_renew_interval,
                 .owner = owner},
                &stores.audit, &stores.leases),
        retention(*db, clock,
                  {.jobs = config.retention_jobs,
                   .failed_jobs = config.retention_failed_jobs,
                   .audit = config.retention_audit,
                   .players = config.retention_players,
                   .batch = config.retention_batch,
                   .export_dir = config.retention_export_dir,
                   .interval = config.retention_interval,
                   .owner = owner},
                  &stores.leases),
        workshop_refresh(
            stores.leases, clock,
            {.lease = "workshop_refresh", .interval = config.workshop_refresh, .owner = owner},
            WorkshopRefreshWork(stores)),
        update_watch(stores.leases, clock,
                     {.lease = "game_check", .interval = config.update_check, .owner = owner},
                     UpdateCheckWork(stores)),
        schedule_runner(stores, {.check = config.schedule_check, .owner = owner}),
        alerts(stores, {.owner = owner}),
        profiles(steam_key.empty()
                     ? nullptr
                     : std::make_unique<SteamProfiles>(
                           stores.players, http, clock,
                           SteamProfilesOptions{.web_api = config.steam_web_api,
                                                .key = steam_key,
                                                .lifetime = config.steam_profile_lifetime})),
        player_agents(*agents, absl::Seconds(5)),
        player_feed(stores, reports, player_agents,
                    {.recorded =
                         [this] {
                           // The API is started before the feed (ControllerProcess::Start).
                           if (api != nullptr) api->events().Wake();
                         },
                     .joined =
                         [this](const std::vector<std::string>& steam_ids) {
                           if (profiles != nullptr) profiles->Want(steam_ids);
                         }}) {}

  absl::Status StartReceiver() {
    if (config.report_listen.empty()) return absl::OkStatus();
    // A report whose instances' game logs moved is looked at as it arrives (a join reaches the
    // history and the event streams within a report's gap).
    reports.SetListener([this](const std::string& host_id) { player_feed.Notify(host_id); });
    absl::StatusOr<std::unique_ptr<ReportReceiver>> started =
        ReportReceiver::Start(config.report_listen, reports);
    if (!started.ok()) {
      return absl::Status(started.status().code(),
                          absl::StrCat("agents.report_listen: ", started.status().message()));
    }
    receiver = *std::move(started);
    const std::string report_to = ReportAddress(config, receiver->port());
    enrollment.set_report_to(report_to);
    L4D2_LOG(INFO) << "receiving host reports on UDP '" << config.report_listen << "' (port "
                   << receiver->port() << "); agents are told to send them to '" << report_to
                   << "'";
    return absl::OkStatus();
  }

  // The HTTP API: sessions and tokens, event streams, the routes.
  absl::Status StartApi() {
    const std::string public_url =
        config.public_url.empty() ? "http://" + config.listen_http : config.public_url;
    L4D2_ASSIGN_OR_RETURN(
        api, ControllerApi::Start(
                 *db, stores, *agents, clock,
                 {.http = {.address = config.listen_http,
                           .threads = config.http_threads,
                           .workers = config.http_workers,
                           .version = kVersion,
                           .web_root = config.web_root,
                           .addresses = {.max_connections = config.max_connections_per_address,
                                         .unauthenticated_per_second =
                                             static_cast<double>(config.unauthenticated_per_second),
                                         .unauthenticated_burst =
                                             static_cast<double>(config.unauthenticated_burst)}},
                  .rest = {.public_url = public_url,
                           .allow_private_webhook_targets = config.alerts_allow_private_targets},
                  .sessions = {.idle = config.session_idle, .lifetime = config.session_lifetime},
                  .streams = {.max_streams_per_user = config.max_streams_per_user,
                              .max_clients = config.max_streams},
                  .more_metrics = [this] { return HostReportMetrics(reports, pinger); },
                  .certificate_changed = [this](const std::string& id) { reports.Forget(id); },
                  .device_cookie_secret = pki.controller_key_pem},
                 &enrollment));
    return absl::OkStatus();
  }

  const ControllerConfig config;
  Clock& clock;
  std::unique_ptr<Database> db;
  tls::ControllerPki pki;
  std::unique_ptr<BackupVault> vault;  // null without backups.vault
  const std::string owner;
  FleetStores stores;
  Enrollment enrollment;
  std::unique_ptr<AgentConnector> agents;
  HostReportBook reports;
  AgentPinger agent_pinger;
  ReportedHostPinger pinger;
  AgentInstanceLister agent_lister;
  ReportedInstanceLister lister;
  Scheduler scheduler;
  HostMonitor monitor;
  Reconciler reconciler;
  CertificateRenewer renewer;
  Retention retention;
  PeriodicRound workshop_refresh;
  PeriodicRound update_watch;
  ScheduleRunner schedule_runner;
  AlertDispatcher alerts;
  CurlHttpFetcher http;
  std::unique_ptr<SteamProfiles> profiles;  // null without a Steam Web API key
  GrpcAgentClient player_agents;
  PlayerFeed player_feed;
  std::unique_ptr<ReportReceiver> receiver;
  std::unique_ptr<ControllerApi> api;
  bool running = false;
};

absl::StatusOr<std::unique_ptr<ControllerProcess>> ControllerProcess::Start(
    const ControllerConfig& config, std::unique_ptr<Database> db, Clock& clock) {
  absl::StatusOr<tls::ControllerPki> pki = tls::LoadOrCreateControllerPki(config.pki_dir);
  if (!pki.ok()) {
    return absl::Status(pki.status().code(), absl::StrCat("pki_dir: ", pki.status().message()));
  }
  std::string steam_key;
  if (!config.steam_web_api_key_file.empty()) {
    L4D2_ASSIGN_OR_RETURN(steam_key, LoadSteamWebApiKey(config.steam_web_api_key_file));
  }
  std::unique_ptr<BackupVault> vault;
  if (!config.backups_vault.empty()) {
    vault = std::make_unique<BackupVault>(config.backups_vault);
    if (absl::Status opened = vault->Open(); !opened.ok()) {
      return absl::Status(opened.code(), absl::StrCat("backups.vault: ", opened.message()));
    }
    L4D2_LOG(INFO) << "backups are copied off their hosts into '" << config.backups_vault << "'";
  }
  auto parts = std::make_unique<Parts>(config, std::move(db), *std::move(pki), steam_key,
                                       std::move(vault), clock);
  if (parts->vault != nullptr) {
    // What a stop between forgetting a backup and removing its copy left (a day old at least:
    // another controller may be about to record a copy it just made).
    absl::StatusOr<absl::flat_hash_set<std::string>> referenced =
        parts->stores.backups.VaultedDigests();
    absl::StatusOr<std::vector<std::string>> removed =
        referenced.ok() ? parts->vault->RemoveUnreferenced(*referenced, absl::Hours(24))
                        : referenced.status();
    if (!removed.ok()) {
      L4D2_LOG(WARNING) << "backups.vault: copies no backup refers to were not looked for: "
                        << removed.status().message();
    }
  }
  L4D2_RETURN_IF_ERROR(parts->StartReceiver());
  L4D2_RETURN_IF_ERROR(parts->StartApi());
  parts->scheduler.Start();
  parts->monitor.Start();
  parts->reconciler.Start();
  // Agents dialled in plaintext (development) have no certificates to renew.
  if (!config.agents_plaintext) parts->renewer.Start();
  parts->retention.Start();
  if (config.workshop_refresh > absl::ZeroDuration()) parts->workshop_refresh.Start();
  if (config.update_check > absl::ZeroDuration()) parts->update_watch.Start();
  parts->schedule_runner.Start();
  parts->alerts.Start();
  if (parts->profiles != nullptr) {
    parts->profiles->Start();
    L4D2_LOG(INFO) << "players' Steam profiles from '" << config.steam_web_api << "' (the key in '"
                   << config.steam_web_api_key_file << "')";
  }
  parts->player_feed.Start();
  parts->running = true;
  L4D2_LOG(INFO) << "l4d2-controller " << kVersion << " serving HTTP on '" << config.listen_http
                 << "' (port " << parts->api->port() << ")";
  return std::unique_ptr<ControllerProcess>(new ControllerProcess(std::move(parts)));
}

ControllerProcess::ControllerProcess(std::unique_ptr<Parts> parts) : parts_(std::move(parts)) {}

ControllerProcess::~ControllerProcess() { Stop(); }

int ControllerProcess::http_port() const { return parts_->api->port(); }

int ControllerProcess::report_port() const {
  return parts_->receiver == nullptr ? 0 : parts_->receiver->port();
}

bool ControllerProcess::Healthy() const {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  absl::Cleanup close_fd = [fd] { ::close(fd); };
  const timeval timeout{.tv_sec = 5, .tv_usec = 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
  sockaddr_in address{.sin_family = AF_INET, .sin_port = htons(static_cast<uint16_t>(http_port()))};
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) != 0) {
    return false;
  }
  constexpr absl::string_view kRequest = "GET /healthz HTTP/1.0\r\nHost: localhost\r\n\r\n";
  if (::send(fd, kRequest.data(), kRequest.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(kRequest.size())) {
    return false;
  }
  char answer[32] = {};
  const ssize_t got = ::recv(fd, answer, sizeof(answer) - 1, 0);
  return got > 12 && absl::StartsWith(answer, "HTTP/1.") &&
         absl::string_view(answer + 9, 3) == "200";
}

void ControllerProcess::Stop() {
  if (!parts_->running) return;
  parts_->running = false;
  parts_->renewer.Stop();
  parts_->retention.Stop();
  parts_->reconciler.Stop();
  parts_->monitor.Stop();
  parts_->receiver.reset();
  parts_->player_feed.Stop();
  if (parts_->profiles != nullptr) parts_->profiles->Stop();
  parts_->workshop_refresh.Stop();
  parts_->update_watch.Stop();
  parts_->schedule_runner.Stop();
  parts_->alerts.Stop();
  parts_->scheduler.Stop();
  parts_->api->Stop();
}

}  // namespace l4d2::controller
