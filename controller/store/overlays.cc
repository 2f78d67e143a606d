#include "controller/store/overlays.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/names.h"
#include "common/status_macros.h"
#include "controller/store/ids.h"
#include "rpc/proto_json.h"
#include "soci/soci.h"

namespace l4d2::controller {
namespace {

// On a host a ref is a directory path and its versions are directories inside it: a ref inside
// another's ("maps" and "maps/2024") would have one owner's sync take the other's directory for
// an old version and remove it. Refs are one namespace across owners (a host has one
// overlays/ directory), so no ref may be a path prefix of another, whoever owns either.
absl::Status RefusingNestedRefs(soci::session& sql, const std::string& ref) {
  long long nested = 0;
  // An existing ref below the new one: "maps/" starts it.
  const std::string below = ref + "/";
  const int length = static_cast<int>(below.size());
  sql << "SELECT COUNT(*) FROM overlays WHERE substr(ref, 1, :n) = :below", soci::use(length),
      soci::use(below), soci::into(nested);
  if (nested > 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("overlay ref '", ref, "' would hold another overlay's ref below it ('", below,
                     "...'); refs may not nest: choose another"));
  }
  // An existing ref above the new one: each of its proper prefixes ("maps" for "maps/2024").
  for (size_t slash = ref.find('/'); slash != std::string::npos; slash = ref.find('/', slash + 1)) {
    const std::string above = ref.substr(0, slash);
    long long taken = 0;
    sql << "SELECT COUNT(*) FROM overlays WHERE ref = :r", soci::use(above), soci::into(taken);
    if (taken > 0) {
      return absl::FailedPreconditionError(absl::StrCat("overlay ref '", ref,
                                                        "' would be inside overlay '", above,
                                                        "'; refs may not nest: choose another"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> Definition(const Actor& actor, bool global,
                                       const agent::v1::SyncOverlayRequest& given) {
  agent::v1::SyncOverlayRequest source = given;
  source.clear_operation_id();
  source.clear_ref();
  if (source.source_case() == agent::v1::SyncOverlayRequest::SOURCE_NOT_SET) {
    return absl::InvalidArgumentError(
        "source: one of inline_files, workshop, archive or script is required");
  }
  // A script runs on the hosts (sandboxed, but with the host's kernel and network): admins'.
  if (source.has_script() && !(actor.admin && global)) {
    return absl::InvalidArgumentError("source.script: only global overlays (admins) run scripts");
  }
  // Checked here too (the agent checks again), so a bad file is refused when it is given,
  // not at each host's sync.
  for (int i = 0; i < source.inline_files().files_size(); ++i) {
    const agent::v1::InlineFile& file = source.inline_files().files(i);
    if (absl::Status bad = ValidateInlineFile(file.path(), file.mode()); !bad.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("source.inline_files.files[", i, "]: ", bad.message()));
    }
  }
  std::string json = ToJson(source);
  if (json.size() > OverlayStore::kMaxDefinitionBytes) {
    return absl::InvalidArgumentError(absl::StrCat("source: ", json.size(), " bytes, at most ",
                                                   OverlayStore::kMaxDefinitionBytes));
  }
  return json;
}

}  // namespace

OverlayStore::OverlayStore(Database& db, Clock& clock) : db_(db), clock_(clock) {}

absl::StatusOr<Overlay> OverlayStore::Read(soci::session& sql, const std::string& id) {
  Overlay overlay;
  std::string owner, definition;
  soci::indicator owner_indicator = soci::i_null;
  long long revision = 0, created = 0, updated = 0;
  sql << "SELECT id, owner_id, ref, definition, revision, created_at_ms, updated_at_ms"
         " FROM overlays WHERE id = :id",
      soci::use(id), soci::into(overlay.id), soci::into(owner, owner_indicator),
      soci::into(overlay.ref), soci::into(definition), soci::into(revision), soci::into(created),
      soci::into(updated);
  if (!sql.got_data()) return absl::NotFoundError(absl::StrCat("no overlay '", id, "'"));
  overlay.owner_id = owner_indicator == soci::i_ok ? owner : "";
  L4D2_ASSIGN_OR_RETURN(overlay.source,
                        FromJson<agent::v1::SyncOverlayRequest>(definition, "overlay definition"));
  overlay.revision = revision;
  overlay.created_at = absl::FromUnixMillis(created);
  overlay.updated_at = absl::FromUnixMillis(updated);
  return overlay;
}

absl::StatusOr<Overlay> OverlayStore::Create(const Actor& actor, const std::string& ref,
                                             bool global,
                                             const agent::v1::SyncOverlayRequest& source) {
  L4D2_RETURN_IF_ERROR(ValidateOverlayRef(ref));
  if (global && !actor.admin) {
    return absl::PermissionDeniedError("only admins create global overlays");
  }
  L4D2_ASSIGN_OR_RETURN(std::string definition, Definition(actor, global, source));
  const std::string id = "o" + RandomHex(12);
  const std::string owner = global ? "" : actor.user_id;
  if (!global && owner.empty()) {
    return absl::InvalidArgumentError("an owned overlay needs a user as its owner");
  }
  absl::StatusOr<Overlay> created;
  L4D2_RETURN_IF_ERROR(db_.Transact([&](soci::session& sql) -> absl::Status {
    long long taken = 0;
    sql << "SELECT COUNT(*) FROM overlays WHERE ref = :r", soci::use(ref), soci::into(taken);
    if (taken > 0) return absl::AlreadyExistsError(absl::StrCat("overlay '", ref, "' exists"));
    L4D2_RETURN_IF_ERROR(RefusingNestedRefs(sql, ref));
    long long now = absl::ToUnixMillis(clock_.Now());
    soci::indicator owner_indicator = global ? soci::i_null : soci::i_ok;
    sql << "INSERT INTO overlays (id, owner_id, ref, definition, revision, created_at_ms,"
           " updated_at_ms) VALUES (:id, :owner, :ref, :definition, 1, :now, :now2)",
        soci::use(id), soci::use(owner, owner_indicator), soci::use(ref), soci::use(definition),
        soci::use(now), soci::use(now);
    created = Read(sql, id);
    return created.status();
  }));
  return created;
}

absl::StatusOr<Overlay> OverlayStore::Update(const Actor& actor, const std::string& id,
                                             const agent::v1::SyncOverlayRequest& source) {
  absl::StatusOr<Overlay> updated;
  L4D2_RETURN_IF_ERROR(db_.Transact([&](soci::session& sql) -> absl::Status {
    L4D2_ASSIGN_OR_RETURN(Overlay overlay, Read(sql, id));
    if (!actor.Sees(overlay.owner_id)) {
      return absl::NotFoundError(absl::StrCat("no overlay '", id, "'"));
    }
    if (!actor.Owns(overlay.owner_id)) {
      return absl::PermissionDeniedError("only admins change global overlays");
    }
    L4D2_ASSIGN_OR_RETURN(std::string definition,
                          Definition(actor, overlay.owner_id.empty(), source));
    long long now = absl::ToUnixMillis(clock_.Now());
    sql << "UPDATE overlays SET definition = :d, revision = revision + 1, updated_at_ms = :now"
           " WHERE id = :id",
        soci::use(definition), soci::use(now), soci::use(id);
    updated = Read(sql, id);
    return updated.status();
  }));
  return updated;
}

absl::StatusOr<Overlay> OverlayStore::Get(const Actor& actor, const std::string& id) {
  absl::StatusOr<Overlay> overlay;
  L4D2_RETURN_IF_ERROR(db_.WithSession([&](soci::session& sql) -> absl::Status {
    overlay = Read(sql, id);
    return absl::OkStatus();
  }));
  if (overlay.ok() && !actor.Sees(overlay->owner_id)) {
    return absl::NotFoundError(absl::StrCat("no overlay '", id, "'"));
  }
  return overlay;
}

namespace {

constexpr char kOverlayColumns[] =
    "id, owner_id, ref, definition, revision, created_at_ms, updated_at_ms";

// The overlays `select` gives (columns kOverlayColumns, `params` bound in order).
absl::StatusOr<std::vector<Overlay>> ReadOverlays(soci::session& sql, const std::string& select,
                                                  const std::vector<std::string>& params) {
  std::vector<Overlay> overlays;
  Overlay row;
  std::string owner, definition;
  soci::indicator owner_indicator = soci::i_null;
  long long revision = 0, created = 0, updated = 0;
  soci::statement statement(sql);
  for (const std::string& param : params) statement.exchange(soci::use(param));
  statement.exchange(soci::into(row.id));
  statement.exchange(soci::into(owner, owner_indicator));
  statement.exchange(soci::into(row.ref));
  statement.exchange(soci::into(definition));
  statement.exchange(soci::into(revision));
  statement.exchange(soci::into(created));
  statement.exchange(soci::into(updated));
  statement.alloc();
  statement.prepare(select);
  statement.define_and_bind();
  statement.execute(false);
  while (statement.fetch()) {
    row.owner_id = owner_indicator == soci::i_ok ? owner : "";
    L4D2_ASSIGN_OR_RETURN(
        row.source, FromJson<agent::v1::SyncOverlayRequest>(definition, "overlay definition"));
    row.revision = revision;
    row.created_at = absl::FromUnixMillis(created);
    row.updated_at = absl::FromUnixMillis(updated);
    overlays.push_back(row);
  }
  return overlays;
}

// A page of the overlays `actor` sees, as `columns`; `params` gets the values to bind. Each
// owner's rows (global ones have none) come from the (owner_id, ref, id, revision) index in page
// order; an operator's page merges the global branch and their own, each limited: an OR over
// both would read every row and sort them.
std::string ListQuery(const Actor& actor, const PageQuery& page, std::optional<bool> global,
                      const std::string& columns, std::vector<std::string>& params) {
  auto branch = [&](const std::string& owner_condition) {
    std::string where = owner_condition;
    AppendPageConditions(page, "ref", "id", where, params);
    return absl::StrCat("SELECT ", columns, " FROM overlays WHERE ", where,
                        " ORDER BY ref, id LIMIT ", page.limit);
  };
  if (actor.admin) {
    return branch(!global.has_value() ? "1 = 1"
                  : *global           ? "owner_id IS NULL"
                                      : "owner_id IS NOT NULL");
  }
  std::vector<std::string> branches;
  if (global.value_or(true)) branches.push_back(branch("owner_id IS NULL"));
  if (!global.value_or(false)) {
    params.push_back(actor.user_id);
    branches.push_back(branch(absl::StrCat("owner_id = :p", params.size())));
  }
  if (branches.size() == 1) return branches[0];
  return absl::StrCat("SELECT * FROM (", branches[0], ") AS global_page UNION ALL ",
                      "SELECT * FROM (", branches[1], ") AS own_page ORDER BY ref, id LIMIT ",
                      page.limit);
}

}  // namespace

absl::StatusOr<std::vector<Overlay>> OverlayStore::List(const Actor& actor, const PageQuery& page,
                                                        std::optional<bool> global) {
  std::vector<std::string> params;
  const std::string query = ListQuery(actor, page, global, kOverlayColumns, params);
  absl::StatusOr<std::vector<Overlay>> overlays;
  L4D2_RETURN_IF_ERROR(db_.WithSession([&](soci::session& sql) -> absl::Status {
    overlays = ReadOverlays(sql, query, params);
    return overlays.status();
  }));
  return overlays;
}

absl::StatusOr<std::vector<RowRevision>> OverlayStore::ListRevisions(const Actor& actor,
                                                                     const PageQuery& page,
                                                                     std::optional<bool> global) {
  std::vector<std::string> params;
  const std::string query = ListQuery(actor, page, global, "id, ref, revision", params);
  std::vector<RowRevision> rows;
  L4D2_RETURN_IF_ERROR(db_.WithSession([&](soci::session& sql) -> absl::Status {
    rows = ReadRowRevisions(sql, query, params);
    return absl::OkStatus();
  }));
  return rows;
}

absl::StatusOr<std::vector<Overlay>> OverlayStore::GetMany(const Actor& actor,
                                                           absl::Span<const std::string> ids) {
  std::vector<Overlay> none;
  if (ids.empty()) return none;
  std::vector<std::string> params;
  std::string where = IdIn(ids, params);
  if (!actor.admin) {
    where += " AND (owner_id IS NULL OR owner_id = :o)";
    params.push_back(actor.user_id);
  }
  absl::StatusOr<std::vector<Overlay>> overlays;
  L4D2_RETURN_IF_ERROR(db_.WithSession([&](soci::session& sql) -> absl::Status {
    overlays = ReadOverlays(
        sql, absl::StrCat("SELECT ", kOverlayColumns, " FROM overlays WHERE ", where), params);
    return overlays.status();
  }));
  return overlays;
}

absl::Status OverlayStore::Delete(const Actor& actor, const std::string& id) {
  return db_.Transact([&](soci::session& sql) -> absl::Status {
    L4D2_ASSIGN_OR_RETURN(Overlay overlay, Read(sql, id));
    if (!actor.Sees(overlay.owner_id)) {
      return absl::NotFoundError(absl::StrCat("no overlay '", id, "'"));
    }
    if (!actor.Owns(overlay.owner_id)) {
      return absl::PermissionDeniedError("only admins delete global overlays");
    }
    long long users = 0;
    sql << "SELECT COUNT(DISTINCT blueprint_id) FROM blueprint_overlays WHERE overlay_id = :id",
        soci::use(id), soci::into(users);
    if (users > 0) {
      return absl::FailedPreconditionError(
          absl::StrCat("overlay '", overlay.ref, "' is used by ", users, " blueprint(s)"));
    }
    sql << "DELETE FROM overlays WHERE id = :id", soci::use(id);
    return absl::OkStatus();
  });
}

absl::StatusOr<std::optional<OverlayOnHost>> OverlayStore::OnHost(const std::string& overlay_id,
                                                                  const std::string& host_id) {
  std::optional<OverlayOnHost> on_host;
  L4D2_RETURN_IF_ERROR(db_.WithSession([&](soci::session& sql) -> absl::Status {
    long long revision = 0;
    std::string version;
    sql << "SELECT revision, version FROM overlay_hosts WHERE overlay_id = :o AND host_id = :h",
        soci::use(overlay_id), soci::use(host_id), soci::into(revision), soci::into(version);
    if (sql.got_data()) on_host = OverlayOnHost{.revision = revision, .version = version};
    return absl::OkStatus();
  }));
  return on_host;
}

absl::Status OverlayStore::RecordSync(const std::string& overlay_id, const std::string& host_id,
                                      int64_t revision, const std::string& version) {
  return db_.Transact([&](soci::session& sql) -> absl::Status {
    long long now = absl::ToUnixMillis(clock_.Now());
    long long rev = revision;
    // Portable upsert: a row per (overlay, host); never back to an older revision.
    sql << "DELETE FROM overlay_hosts WHERE overlay_id = :o AND host_id = :h AND revision <= :r",
        soci::use(overlay_id), soci::use(host_id), soci::use(rev);
    long long newer = 0;
    sql << "SELECT COUNT(*) FROM overlay_hosts WHERE overlay_id = :o AND host_id = :h",
        soci::use(overlay_id), soci::use(host_id), soci::into(newer);
    if (newer > 0) return absl::OkStatus();
    sql << "INSERT INTO overlay_hosts (overlay_id, host_id, revision, version, synced_at_ms)"
           " VALUES (:o, :h, :r, :v, :now)",
        soci::use(overlay_id), soci::use(host_id), soci::use(rev), soci::use(version),
        soci::use(now);
    return absl::OkStatus();
  });
}

}  // namespace l4d2::controller
