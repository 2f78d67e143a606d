#pragma once

// Versioned schema migrations, applied in order at start (and by `l4d2-controller migrate`).
// Applied versions are recorded in schema_migrations; each migration runs in its own
// transaction together with its record, so a crash leaves either all of it or none. On
// PostgreSQL an advisory lock makes concurrent controllers apply each migration once.
//
// SQL is portable between SQLite and PostgreSQL: BIGINT timestamps (Unix milliseconds), TEXT,
// application-generated ids. What cannot be (triggers: SQLite's bodies are SQL, PostgreSQL's
// call a function) goes in the per-backend lists, run after the portable statements.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "common/clock.h"
#include "controller/store/database.h"

namespace l4d2::controller {

struct Migration {
  int64_t version;
  std::string description;
  std::vector<std::string> statements;
  std::vector<std::string> sqlite = {};
  std::vector<std::string> postgresql = {};
};

// The controller's own schema, oldest first.
const std::vector<Migration>& ControllerMigrations();

// Applies the migrations above the database's version. FAILED_PRECONDITION when the database
// is newer than every known migration (an older binary must not touch a newer schema);
// INVALID_ARGUMENT when versions are not strictly increasing.
absl::Status ApplyMigrations(Database& db, absl::Span<const Migration> migrations, Clock& clock);

// The highest applied version; 0 for an empty database.
absl::StatusOr<int64_t> SchemaVersion(Database& db);

}  // namespace l4d2::controller
