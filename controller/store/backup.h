#pragma once

// Backups of a SQLite controller database, and their restore (docs/operations.md). PostgreSQL
// has its own tools (pg_dump, pg_restore); these refuse it and say so.
//
// A backup is taken while the controller serves, with SQLite's online backup API, a hundred
// pages a step (writers wait at most one step; a step that meets a write starts over from a
// consistent state), written beside the destination and renamed into place after an integrity
// check: a backup file is whole or absent. It holds every write acknowledged before it began.

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"

namespace l4d2::controller {

// The SQLite file a "sqlite3:PATH" database URL names; FAILED_PRECONDITION for PostgreSQL.
absl::StatusOr<std::string> SqlitePath(const std::string& database_url, const char* what);

// Copies the database into `destination` (0600). FAILED_PRECONDITION for PostgreSQL.
absl::Status BackupDatabase(const std::string& database_url, const std::string& destination);

// Replaces the database with `backup`, after checking it (integrity; a schema no newer than
// `newest_schema`, which migrations then bring up to date). FAILED_PRECONDITION while a
// controller serves the database (ServingLock) or for PostgreSQL; nothing changes then.
absl::Status RestoreDatabase(const std::string& backup, const std::string& database_url,
                             int64_t newest_schema);

// Held by a serving controller on its SQLite database (an exclusive lock on "<file>.lock"), so
// that a second controller on the same file, or a restore, is refused instead of corrupting it.
// Nothing for PostgreSQL (several controllers share it by design). Released when destroyed.
class ServingLock {
 public:
  static absl::StatusOr<ServingLock> Take(const std::string& database_url);
  ServingLock(ServingLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  ServingLock& operator=(ServingLock&&) = delete;
  ~ServingLock();

 private:
  explicit ServingLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

}  // namespace l4d2::controller
