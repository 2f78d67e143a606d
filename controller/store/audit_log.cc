#include "controller/store/audit_log.h"

#include <algorithm>

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

// The conditions of a list query, its order and limit; `params` gets their values.
// The filters of `query` but who may see the entries, as " AND ..." with their parameters
// appended; `suffix` keeps the parameters' names unique within one statement.
std::string Filters(const AuditQuery& query, const std::string& suffix,
                    std::vector<std::string>& params) {
  std::string where;
  if (!query.actor.empty()) {
    absl::StrAppend(&where, " AND actor_id = :actor_filter", suffix);
    params.push_back(query.actor);
  }
  if (!query.action_prefix.empty()) {
    absl::StrAppend(&where, " AND substr(action, 1, length(:prefix", suffix, ")) = :prefix2",
                    suffix);
    params.push_back(query.action_prefix);
    params.push_back(query.action_prefix);
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

// The statement reading a page of `query` as `columns` (the first one the id), with its
// parameters appended to `params`.
std::string ListSelect(const AuditQuery& query, const std::string& columns,
                       std::vector<std::string>& params) {
  const bool forward = !query.after_id.empty();
  const std::string page = absl::StrCat(" ORDER BY id ", forward ? "ASC" : "DESC", " LIMIT ",
                                        std::clamp(query.limit, 1, 1000));
  const std::string select = absl::StrCat("SELECT ", columns, " FROM audit_log WHERE ");
  if (query.visible_to.empty()) return select + "1 = 1" + Filters(query, "", params) + page;
  // An operator's entries are those of their objects and their own actions: each read a page
  // at most from its own index (audit_by_owner, audit_by_actor), then merged. An OR of the two
  // read every entry of the operator to sort them (issue Scale).
  params.push_back(query.visible_to);
  const std::string owned = select + "owner_id = :owner" + Filters(query, "_o", params) + page;
  params.push_back("user:" + query.visible_to);
  const std::string acted = select + "actor_id = :actor" + Filters(query, "_a", params) + page;
  return absl::StrCat("SELECT * FROM (", owned, ") AS owned UNION SELECT * FROM (", acted,
                      ") AS acted ORDER BY 1 ", forward ? "ASC" : "DESC", " LIMIT ",
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
  std::vector<std::string> params;
  const std::string select = ListSelect(query, kColumns, params);
  std::vector<AuditEntry> entries;
  L4D2_RETURN_IF_ERROR(db_.WithSession([&](soci::session& sql) {
    entries = ReadEntries(sql, select, params);
    return absl::OkStatus();
  }));
  return entries;
}

absl::StatusOr<std::vector<RowRevision>> AuditLog::ListIds(const AuditQuery& query) {
  std::vector<std::string> params;
  // Entries never change: revision 0 for all.
  const std::string select = ListSelect(query, "id, id AS name, 0 AS revision", params);
  std::vector<RowRevision> rows;
  L4D2_RETURN_IF_ERROR(db_.WithSession([&](soci::session& sql) {
    rows = ReadRowRevisions(sql, select, params);
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
