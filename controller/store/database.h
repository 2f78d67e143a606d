#pragma once

// The controller's SQL database through SOCI: a SQLite file by default, PostgreSQL for scale and
// for several controllers on one database.
//
// URLs:
//   sqlite3:/var/lib/left4me-controller/controller.db
//   postgresql:host=127.0.0.1 port=5432 dbname=left4me user=left4me   (libpq conninfo)
//   postgresql://left4me@127.0.0.1:5432/left4me                        (libpq URI)
//
// SOCI sessions are not thread-safe: each unit of work leases one from the pool
// (Database::Lease) and gives it back on scope exit. Every SQLite session gets WAL, a busy
// timeout and foreign keys. SOCI throws; WithSession and Transact catch at this boundary and
// return Status (UNAVAILABLE for connection trouble, INTERNAL for SQL errors).
//
// Thread-safe.

#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "soci/connection-pool.h"
#include "soci/session.h"

namespace l4d2::controller {

enum class DatabaseBackend { kSqlite, kPostgresql };

struct DatabaseOptions {
  std::string url;
  // Sessions kept open. SQLite uses at most this many readers and serializes writers itself.
  size_t pool_size = 4;
  // How long SQLite waits on a locked database before SQLITE_BUSY.
  int sqlite_busy_timeout_ms = 5000;
  // Called with the text of every statement a session prepares, before it runs, on the
  // calling thread: tests collect what the API's routes ask of the database (and check their
  // plans). Unset in production.
  std::function<void(const std::string&)> on_statement;
};

class Database {
 public:
  // INVALID_ARGUMENT for an unknown scheme; UNAVAILABLE when the database cannot be opened.
  static absl::StatusOr<std::unique_ptr<Database>> Open(const DatabaseOptions& options);

  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;
  ~Database();

  DatabaseBackend backend() const { return backend_; }
  // "sqlite3" or "postgresql".
  const char* backend_name() const;

  // Runs `work` on a leased session; exceptions from SOCI become Status.
  absl::Status WithSession(const std::function<absl::Status(soci::session&)>& work);
  // As WithSession, inside a transaction committed when `work` returns OK and rolled back
  // otherwise (also when it throws). On SQLite, transactions of this process take turns (one
  // writer) and each begins IMMEDIATE: it takes the write lock first, waiting out the busy
  // timeout while another process (a second controller binary, `admin create`) holds it. A
  // DEFERRED one that read first would get SQLITE_BUSY at its first write, without waiting
  // (its snapshot is stale once the other writer commits).
  absl::Status Transact(const std::function<absl::Status(soci::session&)>& work);

  // OK when a trivial query succeeds.
  absl::Status Ping();

 private:
  Database(DatabaseBackend backend, size_t pool_size);

  DatabaseBackend backend_;
  size_t pool_size_;
  soci::connection_pool pool_;
  absl::Mutex sqlite_writer_;
};

// Converts an exception thrown by SOCI (or the standard library) during `what` into a Status.
absl::Status SqlError(const std::exception& e, const char* what);

}  // namespace l4d2::controller
