#include "controller/store/audit_log.h"

#include <algorithm>
#include <optional>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/status_macros.h"
#include "controller/store/ids.h"
#include "controller/store/row_batch.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "soci/soci.h"

namespace l4d2::controller {

std::string AuditDetail(std::initializer_list<std::pair<std::string, std::string>> fields) {
  // In the order given; protobuf's JSON printer escapes each string.
  auto quoted = [](const std::string& text) {
    google::protobuf::Value value;
    value.set_string_value(text);
    std::string json;
    (void)google::protobuf::util::MessageToJsonString(value, &json);
    return json;
  };
  std::string json = "{";
  for (const auto& [key, value] : fields) {
    if (json.size() > 1) json += ",";
    absl::StrAppend(&json, quoted(key), ":", quoted(value));
  }
  return json + "}";
}

AuditLog::AuditLog(Database& db, Clock& clock) : db_(db), clock_(clock) {}

absl::Status AuditLog::Append(const std::string& actor, const std::string& action,
                              const std::string& target, const std::string& detail,
                              const std::string& owner) {
  const AuditEntry entry{
      .actor = actor, .action = action, .target = target, .detail = detail, .owner = owner};
  return db_.Transact([&](soci::session& sql) {
    Append(sql, absl::MakeConstSpan(&entry, 1));
    return absl::OkStatus();
  });
}

void AuditLog::Append(soci::session& sql, absl::Span<const AuditEntry> entries) {
  const absl::Time now = clock_.Now();
  RowBatch rows("INSERT INTO audit_log (id, at_ms, actor_id, action, target, detail, owner_id)", 7);
  for (const AuditEntry& entry : entries) {
    rows.Add({"a" + TimeOrderedId(now), absl::ToUnixMillis(now), entry.actor, entry.action,
              entry.target, entry.detail, entry.owner});
  }
  rows.Write(sql);
}

absl::StatusOr<std::vector<AuditEntry>> AuditLog::Newest(int limit, absl::Time before) {
  std::vector<AuditEntry> entries;
  if (limit < 1) return entries;
  L4D2_RETURN_IF_ERROR(db_.WithSession([&](soci::session& sql) {
    long long before_ms = before == absl::InfiniteFuture() ? INT64_MAX : absl::ToUnixMillis(before);
    std::vector<std::string> ids(limit), actors(limit), actions(limit), targets(limit),
        details(limit);
    std::vector<long long> ats(limit);
    sql << "SELECT id, at_ms, actor_id, action, target, detail FROM audit_log"
           " WHERE at_ms < :before ORDER BY at_ms DESC, id DESC LIMIT :limit",
        soci::use(before_ms), soci::use(limit), soci::into(ids), soci::into(ats),
        soci::into(actors), soci::into(actions), soci::into(targets), soci::into(details);
    for (size_t i = 0; i < ids.size(); ++i) {
      entries.push_back({.id = ids[i],
                         .at = absl::FromUnixMillis(ats[i]),
                         .actor = actors[i],
                         .action = actions[i],
                         .target = targets[i],
                         .detail = details[i]});
    }
    return absl::OkStatus();
  }));
  return entries;
}

namespace {

// The filters of `query` but who may see the entries and the action, as " AND ..." with their
// parameters appended; `suffix` keeps the parameters' names unique within one statement.
std::string Filters(const AuditQuery& query, const std::string& suffix,
                    std::vector<std::string>& params) {
  std::string where;
  if (!query.actor.empty()) {
    absl::StrAppend(&where, " AND actor_id = :actor_filter", suffix);
    params.push_back(query.actor);
  }
  if (!query.target.empty()) {
    absl::StrAppend(&where, " AND target = :target", suffix);
    params.push_back(query.target);
  }
  if (!query.after_id.empty()) {
    absl::StrAppend(&where, " AND id > :after", suffix);
    params.push_back(query.after_id);
  } else if (!query.before_id.empty()) {
    absl::StrAppend(&where, " AND id < :before", suffix);
    params.push_back(query.before_id);
  }
  return where;
}

// The actions the log holds that begin with `prefix` (table audit_actions: a few dozen rows,
// kept by a trigger on every insert).
std::vector<std::string> ActionsStartingWith(soci::session& sql, const std::string& prefix) {
  std::vector<std::string> matching;
  std::string action;
  soci::statement select = (sql.prepare << "SELECT action FROM audit_actions", soci::into(action));
  select.execute();
  while (select.fetch()) {
    if (absl::StartsWith(action, prefix)) matching.push_back(action);
  }
  return matching;
}

// The statement reading a page of `query` as `columns` (the first one the id), with its
// parameters appended to `params`; "" when no entry can match (no action has the prefix).
//
// Each page is read from one index range in id order and stops at the limit: the whole log
// (the primary key), an operator's objects (owner_id, id) or actions (actor_id, id), and with
// an action filter each matching action's (action, id), (owner_id, action, id) or
// (actor_id, action, id). Several pages are merged. An OR of owner and actor read every entry
// of the operator to sort them; a prefix tested row by row walked the whole log for a rare
// action (issue Scale).
std::string ListSelect(soci::session& sql, const AuditQuery& query, const std::string& columns,
                       std::vector<std::string>& params) {
  std::vector<std::optional<std::string>> actions;
  if (query.action_prefix.empty()) {
    actions.push_back(std::nullopt);
  } else {
    for (std::string& action : ActionsStartingWith(sql, query.action_prefix)) {
      actions.push_back(std::move(action));
    }
    if (actions.empty()) return "";
  }
  const bool forward = !query.after_id.empty();
  const std::string order = absl::StrCat(" ORDER BY id ", forward ? "ASC" : "DESC", " LIMIT ",
                                         std::clamp(query.limit, 1, 1000));
  std::vector<std::string> pages;
  auto add_page = [&](const char* who, const std::string& who_value,
                      const std::optional<std::string>& action) {
    const std::string suffix = absl::StrCat("_", pages.size());
    std::string where = "1 = 1";
    if (who != nullptr) {
      where = absl::StrCat(who, " = :who", suffix);
      params.push_back(who_value);
    }
    if (action.has_value()) {
      absl::StrAppend(&where, " AND action = :action", suffix);
      params.push_back(*action);
    }
    pages.push_back(absl::StrCat("SELECT ", columns, " FROM audit_log WHERE ", where,
                                 Filters(query, suffix, params), order));
  };
  for (const std::optional<std::string>& action : actions) {
    if (query.visible_to.empty()) {
      add_page(nullptr, "", action);
    } else {
      add_page("owner_id", query.visible_to, action);
      add_page("actor_id", "user:" + query.visible_to, action);
    }
  }
  if (pages.size() == 1) return pages.front();
  std::string merged;
  for (size_t i = 0; i < pages.size(); ++i) {
    absl::StrAppend(&merged, i == 0 ? "" : " UNION ", "SELECT * FROM (", pages[i], ") AS page", i);
  }
  return absl::StrCat(merged, " ORDER BY 1 ", forward ? "ASC" : "DESC", " LIMIT ",
                      std::clamp(query.limit, 1, 1000));
}

constexpr char kColumns[] = "id, at_ms, actor_id, action, target, detail, owner_id";

// The entries `query` (a SELECT of kColumns) reads, with `params` bound in order.
std::vector<AuditEntry> ReadEntries(soci::session& sql, const std::string& query,
                                    const std::vector<std::string>& params) {
  std::vector<AuditEntry> entries;
  AuditEntry row;
  long long at = 0;
  soci::statement select(sql);
  for (const std::string& param : params) select.exchange(soci::use(param));
  select.exchange(soci::into(row.id));
  select.exchange(soci::into(at));
  select.exchange(soci::into(row.actor));
  select.exchange(soci::into(row.action));
  select.exchange(soci::into(row.target));
  select.exchange(soci::into(row.detail));
  select.exchange(soci::into(row.owner));
  select.alloc();
  select.prepare(query);
  select.define_and_bind();
  select.execute(false);
  while (select.fetch()) {
    row.at = absl::FromUnixMillis(at);
    entries.push_back(row);
  }
  return entries;
}

}  // namespace

absl::StatusOr<std::vector<AuditEntry>> AuditLog::List(const AuditQuery& query) {
  std::vector<AuditEntry> entries;
  L4D2_RETURN_IF_ERROR(db_.WithSession([&](soci::session& sql) {
    std::vector<std::string> params;
    const std::string select = ListSelect(sql, query, kColumns, params);
    if (!select.empty()) entries = ReadEntries(sql, select, params);
    return absl::OkStatus();
  }));
  return entries;
}

absl::StatusOr<std::vector<RowRevision>> AuditLog::ListIds(const AuditQuery& query) {
  std::vector<RowRevision> rows;
  L4D2_RETURN_IF_ERROR(db_.WithSession([&](soci::session& sql) {
    std::vector<std::string> params;
    // Entries never change: revision 0 for all.
    const std::string select = ListSelect(sql, query, "id, id AS name, 0 AS revision", params);
    if (!select.empty()) rows = ReadRowRevisions(sql, select, params);
    return absl::OkStatus();
  }));
  return rows;
}

absl::StatusOr<std::vector<AuditEntry>> AuditLog::GetMany(const std::string& visible_to,
                                                          absl::Span<const std::string> ids) {
  std::vector<AuditEntry> entries;
  if (ids.empty()) return entries;
  std::vector<std::string> params;
  std::string clause = IdIn(ids, params);
  if (!visible_to.empty()) {
    clause += " AND (owner_id = :owner OR actor_id = :actor)";
    params.push_back(visible_to);
    params.push_back("user:" + visible_to);
  }
  L4D2_RETURN_IF_ERROR(db_.WithSession([&](soci::session& sql) {
    entries = ReadEntries(sql, absl::StrCat("SELECT ", kColumns, " FROM audit_log WHERE ", clause),
                          params);
    return absl::OkStatus();
  }));
  return entries;
}

}  // namespace l4d2::controller
