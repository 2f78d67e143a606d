// l4d2-controller: the fleet's source of truth and its HTTP API.
//
//   l4d2-controller [--config FILE] [serve]   migrate the database, then serve HTTP
//   l4d2-controller [--config FILE] migrate   apply database migrations and exit
//   l4d2-controller [--config FILE] admin create --username NAME
//       create an administrator; the password comes from L4D2_ADMIN_PASSWORD or standard input
//       (never from the command line)

#include <malloc.h>
#include <sys/resource.h>

#include <cstdlib>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/config_flags.h"
#include "common/file_util.h"
#include "common/lock_checks.h"
#include "common/logging.h"
#include "common/program_usage.h"
#include "common/secret_input.h"
#include "common/service_notify.h"
#include "common/termination_signals.h"
#include "common/version.h"
#include "controller/config/controller_config.h"
#include "controller/process/controller_process.h"
#include "controller/store/audit_log.h"
#include "controller/store/backup.h"
#include "controller/store/database.h"
#include "controller/store/fleet_stores.h"
#include "controller/store/migrations.h"
#include "controller/store/users.h"
#include "controller/usecases/accounts.h"
#include "controller/usecases/hosts.h"
#include "tls/certificates.h"

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
  return l4d2::ConfigFromFileAndFlags<ControllerConfig>(
      absl::GetFlag(FLAGS_config), l4d2::controller::LoadControllerConfig,
      [](ControllerConfig& config) {
        l4d2::OverrideWith(absl::GetFlag(FLAGS_database), config.database);
        l4d2::OverrideWith(absl::GetFlag(FLAGS_listen_http), config.listen_http);
        l4d2::OverrideWith(absl::GetFlag(FLAGS_report_listen), config.report_listen);
        l4d2::OverrideWith(absl::GetFlag(FLAGS_log_level), config.log_level);
        l4d2::OverrideWith(absl::GetFlag(FLAGS_web_root), config.web_root);
        l4d2::OverrideWith(absl::GetFlag(FLAGS_pki_dir), config.pki_dir);
      },
      l4d2::controller::ValidateControllerConfig);
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
  // The CA's pin for the join command, when the CA was made already (read only: this command
  // may run as another user than the service).
  absl::StatusOr<std::string> ca = l4d2::ReadFileToString(config.pki_dir + "/ca.pem", 1 << 20);
  const std::string pin = ca.ok() ? l4d2::tls::CaPin(*ca).value_or("") : "";
  absl::StatusOr<l4d2::controller::CreatedHost> created = l4d2::controller::CreateHost(
      stores, "cli", {.name = absl::GetFlag(FLAGS_name), .address = absl::GetFlag(FLAGS_address)},
      absl::GetFlag(FLAGS_token_ttl), url, pin);
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

// `backup FILE` (while serving) and `restore FILE` (stopped): controller/store/backup.h.
int BackupOrRestore(const ControllerConfig& config, const std::string& command,
                    const std::string& file) {
  const absl::Status done =
      command == "backup"
          ? l4d2::controller::BackupDatabase(config.database, file)
          : l4d2::controller::RestoreDatabase(
                file, config.database, l4d2::controller::ControllerMigrations().back().version);
  if (!done.ok()) {
    std::cerr << "l4d2-controller: " << command << " failed: " << done.message() << "\n";
    return 1;
  }
  std::cout << (command == "backup" ? "backed up to " : "restored from ") << file << "\n";
  return 0;
}

int Run(const std::string& command, const std::string& file) {
  absl::StatusOr<ControllerConfig> config = BuildConfig();
  if (!config.ok()) {
    std::cerr << "l4d2-controller: " << config.status().message() << "\n";
    return 2;
  }
  l4d2::LogSeverity severity;
  l4d2::ParseLogSeverity(config->log_level, &severity);
  l4d2::SetMinLogSeverity(severity);
  if (command == "backup" || command == "restore") return BackupOrRestore(*config, command, file);
  // One serving controller per SQLite file (several share PostgreSQL); a restore waits for none.
  std::optional<l4d2::controller::ServingLock> serving;
  if (command == "serve") {
    absl::StatusOr<l4d2::controller::ServingLock> taken =
        l4d2::controller::ServingLock::Take(config->database);
    if (!taken.ok()) {
      L4D2_LOG(ERROR) << taken.status().message();
      return 1;
    }
    serving.emplace(*std::move(taken));
  }
  l4d2::Clock& clock = l4d2::Clock::Real();
  absl::StatusOr<std::unique_ptr<l4d2::controller::Database>> db =
      l4d2::controller::OpenMigratedDatabase(*config, clock);
  if (!db.ok()) {
    L4D2_LOG(ERROR) << db.status().message();
    return 1;
  }
  if (command == "migrate") return 0;
  if (command == "admin create") return CreateAdmin(**db);
  if (command == "host create") return CreateHost(**db, *config);

  absl::StatusOr<std::unique_ptr<l4d2::controller::ControllerProcess>> controller =
      l4d2::controller::ControllerProcess::Start(*config, *std::move(db), clock);
  if (!controller.ok()) {
    L4D2_LOG(ERROR) << controller.status().message();
    return 1;
  }
  l4d2::NotifyReady("serving");
  const int signal_number = [&] {
    l4d2::ServiceWatchdog watchdog([&controller] { return (*controller)->Healthy(); });
    return l4d2::WaitForTerminationSignal();
  }();
  l4d2::NotifyStopping();
  L4D2_LOG(INFO) << "signal " << signal_number << ", shutting down";
  (*controller)->Stop();
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
      "  host create --name NAME --address HOST:PORT [--token_ttl 24h]|backup FILE|restore FILE]\n"
      "The fleet controller of left4me: database, job scheduler, REST API and web UI.");
  std::vector<char*> args = l4d2::ParseProgramCommandLine(argc, argv);
  if (absl::GetFlag(FLAGS_version)) {
    std::cout << "l4d2-controller " << l4d2::kVersion << "\n";
    return 0;
  }
  std::string command = args.size() > 1 ? args[1] : "serve";
  std::string file;
  if (args.size() == 3 && (command == "backup" || command == "restore")) {
    file = args[2];
  } else if (args.size() == 3) {
    command = absl::StrCat(args[1], " ", args[2]);
  }
  const bool known = command == "serve" || command == "migrate" || command == "admin create" ||
                     command == "host create" || !file.empty();
  if (args.size() > 3 || !known) {
    std::cerr << "l4d2-controller: unknown command; usage: l4d2-controller "
                 "[serve|migrate|admin create --username NAME|host create --name NAME "
                 "--address HOST:PORT|backup FILE|restore FILE]\n";
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
  return Run(command, file);
}
