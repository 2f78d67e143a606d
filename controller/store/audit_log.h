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
#include "absl/types/span.h"
#include "common/clock.h"
#include "controller/store/database.h"
#include "controller/store/page.h"

namespace l4d2::controller {

struct AuditEntry {
  std::string id;
  absl::Time at;
  std::string actor;
  std::string action;  // "host.create", "host.enroll", "user.create", ...
  std::string target;  // the object's id
  std::string detail;  // JSON
  // The user who owns the target ("" for global objects and hosts): operators see the
  // entries of their objects and their own actions, admins all.
  std::string owner;
};

// Which entries AuditLog::List returns.
struct AuditQuery {
  std::string visible_to;  // a user id (an operator): see AuditEntry::owner. "" for all.
  std::string before_id;   // newest first, older than this entry (a page's cursor)
  std::string after_id;    // oldest first, newer than this entry (following the log)
  int limit = 100;         // 1 to 1,000
  // Filters (empty: any): the actor exactly ("user:<id>", "token:<id>", "system"), the action
  // by prefix ("server." or "server.start"), the target id exactly.
  std::string actor;
  std::string action_prefix;
  std::string target;
};

// A detail object {"key":"value",...} in the order given, escaped as JSON.
std::string AuditDetail(std::initializer_list<std::pair<std::string, std::string>> fields);

class AuditLog {
 public:
  // `db` and `clock` must outlive the log.
  AuditLog(Database& db, Clock& clock);

  absl::Status Append(const std::string& actor, const std::string& action,
                      const std::string& target, const std::string& detail = "{}",
                      const std::string& owner = "");
  // Many entries within the caller's transaction on `sql` (AuditEntry's id and time are
  // ignored: made here), so that they land with the change they record or not at all.
  void Append(soci::session& sql, absl::Span<const AuditEntry> entries);
  // Newest first; oldest first when `after_id` is set (then `before_id` is ignored).
  absl::StatusOr<std::vector<AuditEntry>> List(const AuditQuery& query);
  // The same page as ids alone (RowRevision: name is the id, revision 0, entries never change).
  absl::StatusOr<std::vector<RowRevision>> ListIds(const AuditQuery& query);
  // Those among `ids` `visible_to` sees ("" every one), in no particular order.
  absl::StatusOr<std::vector<AuditEntry>> GetMany(const std::string& visible_to,
                                                  absl::Span<const std::string> ids);
  // The newest `limit` entries, newest first, older than `before` when given.
  absl::StatusOr<std::vector<AuditEntry>> Newest(int limit,
                                                 absl::Time before = absl::InfiniteFuture());

 private:
  Database& db_;
  Clock& clock_;
};

}  // namespace l4d2::controller
