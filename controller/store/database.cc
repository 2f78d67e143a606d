#include "controller/store/database.h"

#include <optional>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "soci/postgresql/soci-postgresql.h"
#include "soci/soci.h"
#include "soci/sqlite3/soci-sqlite3.h"

namespace l4d2::controller {
namespace {

// Hands every statement's text to DatabaseOptions::on_statement.
class StatementObserver final : public soci::logger_impl {
 public:
  explicit StatementObserver(std::function<void(const std::string&)> observe)
      : observe_(std::move(observe)) {}
  void start_query(const std::string& query) override { observe_(query); }

 private:
  soci::logger_impl* do_clone() const override { return new StatementObserver(observe_); }

  std::function<void(const std::string&)> observe_;
};

// Returns the session back to the pool on scope exit.
class PoolLease {
 public:
  explicit PoolLease(soci::connection_pool& pool) : pool_(pool), position_(pool.lease()) {}
  PoolLease(const PoolLease&) = delete;
  PoolLease& operator=(const PoolLease&) = delete;
  ~PoolLease() { pool_.give_back(position_); }
  soci::session& session() { return pool_.at(position_); }

 private:
  soci::connection_pool& pool_;
  size_t position_;
};

}  // namespace

absl::Status SqlError(const std::exception& e, const char* what) {
  if (dynamic_cast<const soci::soci_error*>(&e) != nullptr) {
    const auto& error = static_cast<const soci::soci_error&>(e);
    if (error.get_error_category() == soci::soci_error::connection_error) {
      return absl::UnavailableError(absl::StrCat(what, ": database unavailable: ", e.what()));
    }
  }
  return absl::InternalError(absl::StrCat(what, ": ", e.what()));
}

Database::Database(DatabaseBackend backend, size_t pool_size)
    : backend_(backend), pool_size_(pool_size), pool_(pool_size) {}

Database::~Database() = default;

const char* Database::backend_name() const {
  return backend_ == DatabaseBackend::kSqlite ? "sqlite3" : "postgresql";
}

absl::StatusOr<std::unique_ptr<Database>> Database::Open(const DatabaseOptions& options) {
  DatabaseBackend backend;
  std::string connect;
  if (absl::StartsWith(options.url, "sqlite3:")) {
    backend = DatabaseBackend::kSqlite;
    connect = options.url.substr(strlen("sqlite3:"));
    if (connect.empty() || connect == ":memory:") {
      // Each SQLite ":memory:" connection is a database of its own: a pool would see several.
      return absl::InvalidArgumentError("database: sqlite3 needs a file path");
    }
  } else if (absl::StartsWith(options.url, "postgresql://") ||
             absl::StartsWith(options.url, "postgres://")) {
    backend = DatabaseBackend::kPostgresql;
    connect = options.url;
  } else if (absl::StartsWith(options.url, "postgresql:")) {
    backend = DatabaseBackend::kPostgresql;
    connect = options.url.substr(strlen("postgresql:"));
  } else {
    return absl::InvalidArgumentError(
        "database: the URL must start with 'sqlite3:' or 'postgresql:'");
  }
  if (options.pool_size == 0) return absl::InvalidArgumentError("database: pool size 0");

  if (backend == DatabaseBackend::kSqlite) {
    // Once per process, before SQLite's first use: no global memory statistics (their mutex
    // is taken on every allocation, a fifth of a list request's time; docs/benchmarks.md,
    // P6), and no per-connection mutex (a pool session serves one thread at a time). When
    // something else initialized SQLite first, these are refused and nothing changes.
    static const bool configured = [] {
      sqlite_api::sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
      sqlite_api::sqlite3_config(SQLITE_CONFIG_MULTITHREAD);
      return true;
    }();
    (void)configured;
  }
  std::unique_ptr<Database> db(new Database(backend, options.pool_size));
  for (size_t i = 0; i < options.pool_size; ++i) {
    try {
      soci::session& session = db->pool_.at(i);
      if (backend == DatabaseBackend::kSqlite) {
        session.open(soci::sqlite3, absl::StrCat("db=", connect, " timeout=",
                                                 (options.sqlite_busy_timeout_ms + 999) / 1000));
        // Per connection: SQLite forgets these with every new connection.
        session << "PRAGMA journal_mode=WAL";
        session << "PRAGMA synchronous=NORMAL";
        session << "PRAGMA foreign_keys=ON";
        session << "PRAGMA busy_timeout=" << options.sqlite_busy_timeout_ms;
      } else {
        session.open(soci::postgresql, connect);
      }
      if (options.on_statement) session.set_logger(new StatementObserver(options.on_statement));
    } catch (const std::exception& e) {
      // Never echo the URL: a PostgreSQL URL may hold a password.
      return absl::UnavailableError(
          absl::StrCat("database: cannot open the ", db->backend_name(), " database: ", e.what()));
    }
  }
  return db;
}

absl::Status Database::WithSession(const std::function<absl::Status(soci::session&)>& work) {
  PoolLease lease(pool_);
  try {
    return work(lease.session());
  } catch (const std::exception& e) {
    return SqlError(e, "database");
  }
}

absl::Status Database::Transact(const std::function<absl::Status(soci::session&)>& work) {
  std::optional<absl::MutexLock> writer;
  if (backend_ == DatabaseBackend::kSqlite) writer.emplace(&sqlite_writer_);
  PoolLease lease(pool_);
  soci::session& session = lease.session();
  try {
    // As soci::transaction: rolled back on the way out unless committed.
    if (backend_ == DatabaseBackend::kSqlite) {
      session << "BEGIN IMMEDIATE";
    } else {
      session.begin();
    }
    absl::Cleanup roll_back = [&session] {
      try {
        session.rollback();
      } catch (const std::exception& e) {
        L4D2_LOG(WARNING) << "database: rollback failed: " << e.what();
      }
    };
    absl::Status status = work(session);
    if (status.ok()) {
      session.commit();
      std::move(roll_back).Cancel();
    }
    return status;
  } catch (const std::exception& e) {
    return SqlError(e, "database transaction");
  }
}

absl::Status Database::Ping() {
  return WithSession([](soci::session& session) {
    int one = 0;
    session << "SELECT 1", soci::into(one);
    return one == 1 ? absl::OkStatus() : absl::InternalError("database: SELECT 1 returned no 1");
  });
}

}  // namespace l4d2::controller
