#pragma once

// The audit log (table `audit_log`): who changed what, when, append-only. Every state change
// of the fleet is recorded with its actor ("user:<id>", "host:<id>", "system" or "cli" for the
// controller's own commands). Details never hold secrets (no tokens, passwords or keys).
// Thread-safe.

#include <cstdint>
#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "controller/store/database.h"

namespace l4d2::controller {

struct AuditEntry {
  std::string id;
  absl::Time at;
  std::string actor;
  std::string action;  // "host.create", "host.enroll", "user.create", ...
  std::string target;  // the object's id
  std::string detail;  // JSON
};

// A detail object {"key":"value",...} in the order given, escaped as JSON.
std::string AuditDetail(std::initializer_list<std::pair<std::string, std::string>> fields);

class AuditLog {
 public:
  // `db` and `clock` must outlive the log.
  AuditLog(Database& db, Clock& clock);

  absl::Status Append(const std::string& actor, const std::string& action,
                      const std::string& target, const std::string& detail = "{}");
  // The newest `limit` entries, newest first, older than `before` when given.
  absl::StatusOr<std::vector<AuditEntry>> Newest(int limit,
                                                 absl::Time before = absl::InfiniteFuture());

 private:
  Database& db_;
  Clock& clock_;
};

}  // namespace l4d2::controller
