#include "controller/store/blueprints.h"

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/names.h"
#include "common/status_macros.h"
#include "controller/store/ids.h"
#include "rpc/proto_json.h"
#include "soci/soci.h"
#include "spec/spec.h"

namespace l4d2::controller {

BlueprintStore::BlueprintStore(Database& db, Clock& clock) : db_(db), clock_(clock) {}

namespace {

// Blueprints with their overlays: the rows `select` gives (their columns are kBlueprintColumns,
// with `params` bound in order), and every one's overlays in one more query.
constexpr char kBlueprintColumns[] =
    "id, owner_id, name, settings, created_at_ms, updated_at_ms, revision";

absl::StatusOr<std::vector<Blueprint>> ReadBlueprints(soci::session& sql, const std::string& select,
                                                      const std::vector<std::string>& params) {
  std::vector<Blueprint> blueprints;
  Blueprint row;
  std::string settings;
  long long created = 0, updated = 0, revision = 0;
  soci::statement statement(sql);
  for (const std::string& param : params) statement.exchange(soci::use(param));
  statement.exchange(soci::into(row.id));
  statement.exchange(soci::into(row.owner_id));
  statement.exchange(soci::into(row.name));
  statement.exchange(soci::into(settings));
  statement.exchange(soci::into(created));
  statement.exchange(soci::into(updated));
  statement.exchange(soci::into(revision));
  statement.alloc();
  statement.prepare(select);
  statement.define_and_bind();
  statement.execute(false);
  absl::flat_hash_map<std::string, size_t> index;
  std::string in;
  while (statement.fetch()) {
    L4D2_ASSIGN_OR_RETURN(row.settings,
                          FromJson<agent::v1::InstanceSpec>(settings, "blueprint settings"));
    row.created_at = absl::FromUnixMillis(created);
    row.updated_at = absl::FromUnixMillis(updated);
    row.revision = revision;
    index[row.id] = blueprints.size();
    // Ids are stored hex: safe inside the IN list.
    absl::StrAppend(&in, in.empty() ? "'" : ",'", row.id, "'");
    blueprints.push_back(row);
  }
  if (blueprints.empty()) return blueprints;
  std::string blueprint_id, overlay_id;
  int exec = 0;
  soci::statement overlays =
      (sql.prepare << "SELECT blueprint_id, overlay_id, exec_server_cfg FROM blueprint_overlays"
                      " WHERE blueprint_id IN ("
                   << in << ") ORDER BY blueprint_id, position",
       soci::into(blueprint_id), soci::into(overlay_id), soci::into(exec));
  overlays.execute();
  while (overlays.fetch()) {
    blueprints[index.at(blueprint_id)].overlays.push_back({overlay_id, exec != 0});
  }
  return blueprints;
}

}  // namespace

absl::StatusOr<Blueprint> BlueprintStore::Read(soci::session& sql, const std::string& id) {
  L4D2_ASSIGN_OR_RETURN(
      std::vector<Blueprint> found,
      ReadBlueprints(sql,
                     absl::StrCat("SELECT ", kBlueprintColumns, " FROM blueprints WHERE id = :id"),
                     {id}));
  if (found.empty()) return absl::NotFoundError(absl::StrCat("no blueprint '", id, "'"));
  return std::move(found.front());
}

absl::Status BlueprintStore::Check(soci::session& sql, const std::string& owner_id,
                                   const BlueprintInput& input) {
  L4D2_RETURN_IF_ERROR(ValidateInstanceName(input.name));
  if (owner_id.empty()) return absl::InvalidArgumentError("a blueprint needs a user as its owner");
  if (input.settings.port() != 0 || input.settings.overlays_size() != 0) {
    return absl::InvalidArgumentError(
        "settings: port and overlays are not settings (the host picks the port; overlays are "
        "the blueprint's list)");
  }
  agent::v1::InstanceSpec spec = input.settings;
  const spec::SpecLimits limits;
  spec.set_port(limits.port_first);
  for (const BlueprintOverlay& layer : input.overlays) {
    std::string owner, ref;
    soci::indicator owner_indicator = soci::i_null;
    sql << "SELECT owner_id, ref FROM overlays WHERE id = :id", soci::use(layer.overlay_id),
        soci::into(owner, owner_indicator), soci::into(ref);
    // Global overlays, or the owner's own: someone else's never get into a blueprint.
    if (!sql.got_data() || (owner_indicator == soci::i_ok && owner != owner_id)) {
      return absl::NotFoundError(absl::StrCat("no overlay '", layer.overlay_id, "'"));
    }
    agent::v1::OverlayLayer* overlay = spec.add_overlays();
    overlay->set_ref(ref);
    overlay->set_exec_server_cfg(layer.exec_server_cfg);
  }
  absl::Status valid = spec::ValidateSpec(spec::WithDefaults(input.name, spec), limits);
  if (!valid.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("settings", absl::StripPrefix(valid.message(), "spec")));
  }
  return absl::OkStatus();
}

void BlueprintStore::WriteOverlays(soci::session& sql, const std::string& id,
                                   const std::vector<BlueprintOverlay>& overlays) {
  sql << "DELETE FROM blueprint_overlays WHERE blueprint_id = :id", soci::use(id);
  for (size_t i = 0; i < overlays.size(); ++i) {
    int position = static_cast<int>(i);
    int exec = overlays[i].exec_server_cfg ? 1 : 0;
    sql << "INSERT INTO blueprint_overlays (blueprint_id, position, overlay_id, exec_server_cfg)"
           " VALUES (:b, :p, :o, :e)",
        soci::use(id), soci::use(position), soci::use(overlays[i].overlay_id), soci::use(exec);
  }
}

absl::StatusOr<Blueprint> BlueprintStore::Create(const Actor& actor, const BlueprintInput& input) {
  const std::string id = "b" + RandomHex(12);
  absl::StatusOr<Blueprint> created;
  L4D2_RETURN_IF_ERROR(db_.Transact([&](soci::session& sql) -> absl::Status {
    L4D2_RETURN_IF_ERROR(Check(sql, actor.user_id, input));
    long long taken = 0;
    sql << "SELECT COUNT(*) FROM blueprints WHERE owner_id = :o AND name = :n",
        soci::use(actor.user_id), soci::use(input.name), soci::into(taken);
    if (taken > 0) {
      return absl::AlreadyExistsError(absl::StrCat("blueprint '", input.name, "' exists"));
    }
    long long now = absl::ToUnixMillis(clock_.Now());
    std::string settings = ToJson(input.settings);
    sql << "INSERT INTO blueprints (id, owner_id, name, settings, created_at_ms, updated_at_ms)"
           " VALUES (:id, :o, :n, :s, :c, :u)",
        soci::use(id), soci::use(actor.user_id), soci::use(input.name), soci::use(settings),
        soci::use(now), soci::use(now);
    WriteOverlays(sql, id, input.overlays);
    created = Read(sql, id);
    return created.status();
  }));
  return created;
}

absl::StatusOr<Blueprint> BlueprintStore::Update(const Actor& actor, const std::string& id,
                                                 const BlueprintInput& input) {
  absl::StatusOr<Blueprint> updated;
  L4D2_RETURN_IF_ERROR(db_.Transact([&](soci::session& sql) -> absl::Status {
    L4D2_ASSIGN_OR_RETURN(Blueprint blueprint, Read(sql, id));
    if (!actor.Sees(blueprint.owner_id)) {
      return absl::NotFoundError(absl::StrCat("no blueprint '", id, "'"));
    }
    L4D2_RETURN_IF_ERROR(Check(sql, blueprint.owner_id, input));
    long long taken = 0;
    sql << "SELECT COUNT(*) FROM blueprints WHERE owner_id = :o AND name = :n AND id <> :id",
        soci::use(blueprint.owner_id), soci::use(input.name), soci::use(id), soci::into(taken);
    if (taken > 0) {
      return absl::AlreadyExistsError(absl::StrCat("blueprint '", input.name, "' exists"));
    }
    long long now = absl::ToUnixMillis(clock_.Now());
    std::string settings = ToJson(input.settings);
    sql << "UPDATE blueprints SET name = :n, settings = :s, updated_at_ms = :u,"
           " revision = revision + 1 WHERE id = :id",
        soci::use(input.name), soci::use(settings), soci::use(now), soci::use(id);
    WriteOverlays(sql, id, input.overlays);
    updated = Read(sql, id);
    return updated.status();
  }));
  return updated;
}

absl::StatusOr<Blueprint> BlueprintStore::Get(const Actor& actor, const std::string& id) {
  absl::StatusOr<Blueprint> blueprint;
  L4D2_RETURN_IF_ERROR(db_.WithSession([&](soci::session& sql) -> absl::Status {
    blueprint = Read(sql, id);
    return absl::OkStatus();
  }));
  if (blueprint.ok() && !actor.Sees(blueprint->owner_id)) {
    return absl::NotFoundError(absl::StrCat("no blueprint '", id, "'"));
  }
  return blueprint;
}

absl::StatusOr<std::vector<Blueprint>> BlueprintStore::List(const Actor& actor,
                                                            const PageQuery& page) {
  std::vector<std::string> params;
  const std::string where = OwnedPageWhere(actor, page, params);
  absl::StatusOr<std::vector<Blueprint>> blueprints;
  L4D2_RETURN_IF_ERROR(db_.WithSession([&](soci::session& sql) -> absl::Status {
    blueprints =
        ReadBlueprints(sql,
                       absl::StrCat("SELECT ", kBlueprintColumns, " FROM blueprints WHERE ", where,
                                    " ORDER BY name, id LIMIT ", page.limit),
                       params);
    return blueprints.status();
  }));
  return blueprints;
}

absl::StatusOr<std::vector<RowRevision>> BlueprintStore::ListRevisions(const Actor& actor,
                                                                       const PageQuery& page) {
  std::vector<std::string> params;
  const std::string where = OwnedPageWhere(actor, page, params);
  std::vector<RowRevision> rows;
  L4D2_RETURN_IF_ERROR(db_.WithSession([&](soci::session& sql) -> absl::Status {
    // Covered by blueprints_page_by_owner (operators) and blueprints_page (admins).
    rows = ReadRowRevisions(sql,
                            absl::StrCat("SELECT id, name, revision FROM blueprints WHERE ", where,
                                         " ORDER BY name, id LIMIT ", page.limit),
                            params);
    return absl::OkStatus();
  }));
  return rows;
}

absl::StatusOr<std::vector<Blueprint>> BlueprintStore::GetMany(const Actor& actor,
                                                               absl::Span<const std::string> ids) {
  std::vector<Blueprint> none;
  if (ids.empty()) return none;
  std::vector<std::string> params;
  std::string where = IdIn(ids, params);
  if (!actor.admin) {
    where += " AND owner_id = :o";
    params.push_back(actor.user_id);
  }
  absl::StatusOr<std::vector<Blueprint>> blueprints;
  L4D2_RETURN_IF_ERROR(db_.WithSession([&](soci::session& sql) -> absl::Status {
    blueprints = ReadBlueprints(
        sql, absl::StrCat("SELECT ", kBlueprintColumns, " FROM blueprints WHERE ", where), params);
    return blueprints.status();
  }));
  return blueprints;
}

absl::Status BlueprintStore::Delete(const Actor& actor, const std::string& id) {
  return db_.Transact([&](soci::session& sql) -> absl::Status {
    L4D2_ASSIGN_OR_RETURN(Blueprint blueprint, Read(sql, id));
    if (!actor.Sees(blueprint.owner_id)) {
      return absl::NotFoundError(absl::StrCat("no blueprint '", id, "'"));
    }
    long long servers = 0;
    sql << "SELECT COUNT(*) FROM servers WHERE blueprint_id = :id", soci::use(id),
        soci::into(servers);
    if (servers > 0) {
      return absl::FailedPreconditionError(
          absl::StrCat("blueprint '", blueprint.name, "' is used by ", servers, " server(s)"));
    }
    sql << "DELETE FROM blueprint_overlays WHERE blueprint_id = :id", soci::use(id);
    sql << "DELETE FROM blueprints WHERE id = :id", soci::use(id);
    return absl::OkStatus();
  });
}

absl::StatusOr<agent::v1::InstanceSpec> BlueprintStore::SpecFor(const std::string& id, int port) {
  agent::v1::InstanceSpec spec;
  L4D2_RETURN_IF_ERROR(db_.WithSession([&](soci::session& sql) -> absl::Status {
    L4D2_ASSIGN_OR_RETURN(Blueprint blueprint, Read(sql, id));
    spec = blueprint.settings;
    spec.set_port(port);
    for (const BlueprintOverlay& layer : blueprint.overlays) {
      std::string ref;
      sql << "SELECT ref FROM overlays WHERE id = :id", soci::use(layer.overlay_id),
          soci::into(ref);
      agent::v1::OverlayLayer* overlay = spec.add_overlays();
      overlay->set_ref(ref);
      overlay->set_exec_server_cfg(layer.exec_server_cfg);
    }
    return absl::OkStatus();
  }));
  return spec;
}

}  // namespace l4d2::controller
