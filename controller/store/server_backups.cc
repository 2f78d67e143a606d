#include "controller/store/server_backups.h"

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "controller/store/ids.h"
#include "rpc/proto_json.h"
#include "rpc/proto_time.h"
#include "soci/soci.h"

namespace l4d2::controller {
namespace {

std::vector<v1::Backup> ReadBackups(soci::session& sql, const std::string& query,
                                    const std::vector<std::string>& params, int limit) {
  std::vector<v1::Backup> backups;
  std::string record;
  soci::statement statement(sql);
  for (const std::string& param : params) statement.exchange(soci::use(param));
  statement.exchange(soci::use(limit));
  statement.exchange(soci::into(record));
  statement.alloc();
  statement.prepare(query);
  statement.define_and_bind();
  statement.execute(false);
  while (statement.fetch()) {
    absl::StatusOr<v1::Backup> backup = FromJson<v1::Backup>(record, "backup record");
    if (backup.ok()) backups.push_back(*std::move(backup));
  }
  return backups;
}

}  // namespace

ServerBackupStore::ServerBackupStore(Database& db, Clock& clock) : db_(db), clock_(clock) {}

void ServerBackupStore::Add(soci::session& sql, v1::Backup& backup) {
  backup.set_id(TimeOrderedId(clock_.Now()));
  const std::string record = ToJson(backup);
  long long created = absl::ToUnixMillis(TimeOf(backup.created_at()));
  const std::string vault = backup.vaulted() ? backup.sha256() : "";
  soci::statement insert =
      (sql.prepare << "INSERT INTO backups (id, server_id, owner_id, host_id, instance,"
                      " archive_id, created_at_ms, record, vault_sha256)"
                      " VALUES (:id, :s, :o, :h, :i, :a, :c, :r, :v)"
                      " ON CONFLICT (host_id, instance, archive_id) DO NOTHING",
       soci::use(backup.id()), soci::use(backup.server_id()), soci::use(backup.owner_id()),
       soci::use(backup.host_id()), soci::use(backup.server_name()), soci::use(backup.archive_id()),
       soci::use(created), soci::use(record), soci::use(vault));
  insert.execute(true);
  if (insert.get_affected_rows() > 0) return;
  std::string recorded;  // a retried job's: the record it made stands
  sql << "SELECT id FROM backups WHERE host_id = :h AND instance = :i AND archive_id = :a",
      soci::use(backup.host_id()), soci::use(backup.server_name()), soci::use(backup.archive_id()),
      soci::into(recorded);
  backup.set_id(recorded);
}

std::vector<v1::Backup> ServerBackupStore::RemoveArchives(
    soci::session& sql, const std::string& host_id, const std::string& instance,
    const std::vector<std::string>& archive_ids) {
  std::vector<v1::Backup> removed;
  for (const std::string& archive : archive_ids) {
    std::vector<v1::Backup> found = ReadBackups(
        sql,
        "SELECT record FROM backups WHERE host_id = :h AND instance = :i AND archive_id = :a"
        " LIMIT :l",
        {host_id, instance, archive}, 1);
    if (found.empty()) continue;
    Remove(sql, found.front().id());
    removed.push_back(std::move(found.front()));
  }
  return removed;
}

void ServerBackupStore::SetVaulted(soci::session& sql, v1::Backup& backup) {
  backup.set_vaulted(true);
  const std::string record = ToJson(backup);
  sql << "UPDATE backups SET vault_sha256 = :v, record = :r WHERE id = :id",
      soci::use(backup.sha256()), soci::use(record), soci::use(backup.id());
}

bool ServerBackupStore::Vaulted(soci::session& sql, const std::string& sha256) {
  int found = 0;
  sql << "SELECT 1 FROM backups WHERE vault_sha256 = :v LIMIT 1", soci::use(sha256),
      soci::into(found);
  return sql.got_data();
}

void ServerBackupStore::Remove(soci::session& sql, const std::string& id) {
  sql << "DELETE FROM backups WHERE id = :id", soci::use(id);
}

absl::StatusOr<absl::flat_hash_set<std::string>> ServerBackupStore::VaultedDigests() {
  absl::flat_hash_set<std::string> digests;
  L4D2_RETURN_IF_ERROR(db_.WithSession([&](soci::session& sql) -> absl::Status {
    std::string digest;
    soci::statement select = (sql.prepare << "SELECT DISTINCT vault_sha256 FROM backups"
                                             " WHERE vault_sha256 <> ''",
                              soci::into(digest));
    select.execute(false);
    while (select.fetch()) digests.insert(digest);
    return absl::OkStatus();
  }));
  return digests;
}

absl::StatusOr<v1::Backup> ServerBackupStore::Get(const Actor& actor, const std::string& id) {
  std::vector<v1::Backup> found;
  L4D2_RETURN_IF_ERROR(db_.WithSession([&](soci::session& sql) -> absl::Status {
    found = ReadBackups(sql, "SELECT record FROM backups WHERE id = :id LIMIT :l", {id}, 1);
    return absl::OkStatus();
  }));
  if (found.empty() || !actor.Sees(found.front().owner_id())) {
    return absl::NotFoundError(absl::StrCat("no backup '", id, "'"));
  }
  return found.front();
}

absl::StatusOr<std::vector<v1::Backup>> ServerBackupStore::List(const Actor& actor,
                                                                const std::string& server_id,
                                                                int limit) {
  std::vector<v1::Backup> backups;
  L4D2_RETURN_IF_ERROR(db_.WithSession([&](soci::session& sql) -> absl::Status {
    if (!server_id.empty()) {
      backups = ReadBackups(sql,
                            actor.admin ? "SELECT record FROM backups WHERE server_id = :s"
                                          " ORDER BY created_at_ms DESC LIMIT :l"
                                        : "SELECT record FROM backups WHERE server_id = :s"
                                          " AND owner_id = :o ORDER BY created_at_ms DESC LIMIT :l",
                            actor.admin ? std::vector<std::string>{server_id}
                                        : std::vector<std::string>{server_id, actor.user_id},
                            limit);
    } else if (actor.admin) {
      backups = ReadBackups(sql, "SELECT record FROM backups ORDER BY created_at_ms DESC LIMIT :l",
                            {}, limit);
    } else {
      backups = ReadBackups(sql,
                            "SELECT record FROM backups WHERE owner_id = :o"
                            " ORDER BY created_at_ms DESC LIMIT :l",
                            {actor.user_id}, limit);
    }
    return absl::OkStatus();
  }));
  return backups;
}

}  // namespace l4d2::controller
