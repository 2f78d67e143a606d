#include "controller/store/migrations.h"

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "soci/soci.h"

namespace l4d2::controller {
namespace {

// Serializes migrating controllers on one PostgreSQL database.
constexpr int64_t kMigrationLockKey = 0x6c34643264;  // "l4d2d"

constexpr char kCreateMigrationsTable[] =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " version BIGINT PRIMARY KEY,"
    " description TEXT NOT NULL,"
    " applied_at_ms BIGINT NOT NULL)";

int64_t MaxVersion(soci::session& session) {
  soci::indicator indicator = soci::i_null;
  long long version = 0;
  session << "SELECT MAX(version) FROM schema_migrations", soci::into(version, indicator);
  return indicator == soci::i_ok ? version : 0;
}

}  // namespace

const std::vector<Migration>& ControllerMigrations() {
  static const auto* migrations = new std::vector<Migration>{
      {1,
       "controller settings",
       {"CREATE TABLE settings ("
        " name TEXT PRIMARY KEY,"
        " value TEXT NOT NULL,"
        " updated_at_ms BIGINT NOT NULL)"}},
  };
  return *migrations;
}

absl::StatusOr<int64_t> SchemaVersion(Database& db) {
  int64_t version = 0;
  L4D2_RETURN_IF_ERROR(db.WithSession([&](soci::session& session) {
    session << kCreateMigrationsTable;
    version = MaxVersion(session);
    return absl::OkStatus();
  }));
  return version;
}

absl::Status ApplyMigrations(Database& db, absl::Span<const Migration> migrations, Clock& clock) {
  for (size_t i = 1; i < migrations.size(); ++i) {
    if (migrations[i].version <= migrations[i - 1].version) {
      return absl::InvalidArgumentError("migrations: versions must be strictly increasing");
    }
  }
  L4D2_RETURN_IF_ERROR(SchemaVersion(db).status());
  const int64_t newest_known = migrations.empty() ? 0 : migrations.back().version;
  for (const Migration& migration : migrations) {
    L4D2_RETURN_IF_ERROR(db.Transact([&](soci::session& session) -> absl::Status {
      if (db.backend() == DatabaseBackend::kPostgresql) {
        session << "SELECT pg_advisory_xact_lock(" << kMigrationLockKey << ")";
      }
      // Re-read under the lock: another controller may have just applied it.
      int64_t current = MaxVersion(session);
      if (current > newest_known) {
        return absl::FailedPreconditionError(absl::StrCat(
            "database schema version ", current, " is newer than this controller knows (",
            newest_known, "); upgrade the controller"));
      }
      if (current >= migration.version) return absl::OkStatus();
      for (const std::string& statement : migration.statements) session << statement;
      long long version = migration.version;
      long long now_ms = absl::ToUnixMillis(clock.Now());
      session << "INSERT INTO schema_migrations (version, description, applied_at_ms) "
                 "VALUES (:v, :d, :t)",
          soci::use(version), soci::use(migration.description), soci::use(now_ms);
      return absl::OkStatus();
    }));
  }
  // A database newer than this binary fails even when it has nothing left to apply.
  L4D2_ASSIGN_OR_RETURN(int64_t version, SchemaVersion(db));
  if (version > newest_known) {
    return absl::FailedPreconditionError(absl::StrCat("database schema version ", version,
                                                      " is newer than this controller knows (",
                                                      newest_known, "); upgrade the controller"));
  }
  return absl::OkStatus();
}

}  // namespace l4d2::controller
