#include "controller/store/backup.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <memory>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/file_util.h"
#include "common/status_macros.h"

namespace l4d2::controller {
namespace {

struct CloseSqlite {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
using SqliteHandle = std::unique_ptr<sqlite3, CloseSqlite>;

absl::StatusOr<SqliteHandle> OpenSqlite(const std::string& path, int flags) {
  sqlite3* db = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
  SqliteHandle handle(db);
  if (rc != SQLITE_OK) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot open '", path, "': ", db != nullptr ? sqlite3_errmsg(db) : "?"));
  }
  sqlite3_busy_timeout(db, 5000);
  return handle;
}

// One value of a one-row query; "" when it returns nothing.
std::string QueryText(sqlite3* db, const char* sql) {
  sqlite3_stmt* statement = nullptr;
  std::string value;
  if (sqlite3_prepare_v2(db, sql, -1, &statement, nullptr) == SQLITE_OK &&
      sqlite3_step(statement) == SQLITE_ROW) {
    const unsigned char* text = sqlite3_column_text(statement, 0);
    if (text != nullptr) value = reinterpret_cast<const char*>(text);
  }
  sqlite3_finalize(statement);
  return value;
}

// Copies `from` into `to` with the online backup API.
absl::Status Copy(sqlite3* from, sqlite3* to) {
  sqlite3_backup* backup = sqlite3_backup_init(to, "main", from, "main");
  if (backup == nullptr) return absl::InternalError(sqlite3_errmsg(to));
  int rc;
  while ((rc = sqlite3_backup_step(backup, 100)) == SQLITE_OK || rc == SQLITE_BUSY ||
         rc == SQLITE_LOCKED) {
    if (rc != SQLITE_OK) absl::SleepFor(absl::Milliseconds(5));
  }
  sqlite3_backup_finish(backup);
  if (rc != SQLITE_DONE) return absl::InternalError(absl::StrCat("backup: ", sqlite3_errstr(rc)));
  return absl::OkStatus();
}

// A backup file's checks: whole, and of a schema this controller knows.
absl::Status CheckBackup(sqlite3* db, const std::string& path, int64_t newest_schema) {
  if (const std::string integrity = QueryText(db, "PRAGMA integrity_check"); integrity != "ok") {
    return absl::FailedPreconditionError(
        absl::StrCat("'", path, "' is not a sound database: ", integrity.substr(0, 200)));
  }
  const std::string version = QueryText(db, "SELECT MAX(version) FROM schema_migrations");
  if (version.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("'", path, "' is not a controller database (no schema_migrations)"));
  }
  if (newest_schema > 0 && std::stoll(version) > newest_schema) {
    return absl::FailedPreconditionError(absl::StrCat("'", path, "' has schema version ", version,
                                                      ", newer than this controller knows (",
                                                      newest_schema, "); upgrade it first"));
  }
  return absl::OkStatus();
}

// `to` written through `temporary` beside it: checked, then renamed into place.
absl::Status CopyInto(sqlite3* from, const std::string& to, int64_t newest_schema) {
  const std::string temporary = to + ".partial";
  ::unlink(temporary.c_str());
  absl::Status status = [&]() -> absl::Status {
    {
      const int fd = ::open(temporary.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
      if (fd < 0) return ErrnoError(errno, "create", temporary);
      ::close(fd);
    }
    L4D2_ASSIGN_OR_RETURN(SqliteHandle copy,
                          OpenSqlite(temporary, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE));
    L4D2_RETURN_IF_ERROR(Copy(from, copy.get()));
    // One file, whatever the source's journal mode was.
    (void)QueryText(copy.get(), "PRAGMA journal_mode=DELETE");
    L4D2_RETURN_IF_ERROR(CheckBackup(copy.get(), temporary, newest_schema));
    copy.reset();
    if (::rename(temporary.c_str(), to.c_str()) != 0) return ErrnoError(errno, "rename", to);
    return absl::OkStatus();
  }();
  if (!status.ok()) ::unlink(temporary.c_str());
  return status;
}

absl::StatusOr<int> LockFile(const std::string& database_path, bool wait) {
  const std::string path = database_path + ".lock";
  const int fd = ::open(path.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0) return ErrnoError(errno, "open", path);
  if (::flock(fd, LOCK_EX | (wait ? 0 : LOCK_NB)) != 0) {
    const int error = errno;
    ::close(fd);
    if (error == EWOULDBLOCK) {
      return absl::FailedPreconditionError(absl::StrCat("a controller serves '", database_path,
                                                        "': stop it first (systemctl stop "
                                                        "left4me-controller)"));
    }
    return ErrnoError(error, "lock", path);
  }
  return fd;
}

}  // namespace

absl::StatusOr<std::string> SqlitePath(const std::string& database_url, const char* what) {
  if (!absl::StartsWith(database_url, "sqlite3:")) {
    return absl::FailedPreconditionError(absl::StrCat(
        what, ": only for SQLite; for PostgreSQL use pg_dump and pg_restore (docs/operations.md)"));
  }
  return database_url.substr(strlen("sqlite3:"));
}

absl::Status BackupDatabase(const std::string& database_url, const std::string& destination) {
  L4D2_ASSIGN_OR_RETURN(const std::string source, SqlitePath(database_url, "backup"));
  L4D2_ASSIGN_OR_RETURN(SqliteHandle from, OpenSqlite(source, SQLITE_OPEN_READONLY));
  return CopyInto(from.get(), destination, /*newest_schema=*/0);
}

absl::Status RestoreDatabase(const std::string& backup, const std::string& database_url,
                             int64_t newest_schema) {
  L4D2_ASSIGN_OR_RETURN(const std::string target, SqlitePath(database_url, "restore"));
  L4D2_ASSIGN_OR_RETURN(SqliteHandle from, OpenSqlite(backup, SQLITE_OPEN_READONLY));
  L4D2_RETURN_IF_ERROR(CheckBackup(from.get(), backup, newest_schema));
  L4D2_ASSIGN_OR_RETURN(const int lock, LockFile(target, /*wait=*/false));
  absl::Status status = CopyInto(from.get(), target, newest_schema);
  if (status.ok()) {
    // The replaced database's journal must not be replayed over the restored one.
    for (const char* suffix : {"-wal", "-shm", "-journal"}) {
      ::unlink(absl::StrCat(target, suffix).c_str());
    }
  }
  ::close(lock);
  return status;
}

absl::StatusOr<ServingLock> ServingLock::Take(const std::string& database_url) {
  if (!absl::StartsWith(database_url, "sqlite3:")) return ServingLock(-1);
  L4D2_ASSIGN_OR_RETURN(const int fd,
                        LockFile(database_url.substr(strlen("sqlite3:")), /*wait=*/false));
  return ServingLock(fd);
}

ServingLock::~ServingLock() {
  if (fd_ >= 0) ::close(fd_);
}

}  // namespace l4d2::controller
