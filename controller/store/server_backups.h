#pragma once

// The catalog of servers' backups (table `backups`, migration 26; docs/backups.md): one row per
// archive on a host, written by the jobs that take, copy and prune them. A backup belongs to
// its server's owner; it outlives the server (to get a deleted server's state back onto
// another). Thread-safe.

#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "common/clock.h"
#include "controller/store/actor.h"
#include "controller/store/database.h"
#include "l4d2/controller/v1/backups.pb.h"

namespace l4d2::controller {

class ServerBackupStore {
 public:
  // `db` and `clock` must outlive the store.
  ServerBackupStore(Database& db, Clock& clock);

  // Records `backup` with a new id (set in it), within the caller's transaction; when its
  // archive (host, instance `server_name`, archive id) is recorded already (a retried job),
  // sets that record's id instead.
  void Add(soci::session& sql, v1::Backup& backup);
  // Forgets the backups of `instance` on `host_id` whose archives are `archive_ids` (pruned by
  // the agent): the records forgotten.
  std::vector<v1::Backup> RemoveArchives(soci::session& sql, const std::string& host_id,
                                         const std::string& instance,
                                         const std::vector<std::string>& archive_ids);
  void Remove(soci::session& sql, const std::string& id);

  // The controller's vault (backup_vault.h): `backup` (recorded) has its copy there now
  // (`vaulted` set in it too).
  void SetVaulted(soci::session& sql, v1::Backup& backup);
  // Whether any backup still has its copy in the vault under `sha256`: when none does, the
  // copy can go.
  bool Vaulted(soci::session& sql, const std::string& sha256);
  // Every digest backups refer to in the vault.
  absl::StatusOr<absl::flat_hash_set<std::string>> VaultedDigests();

  // NOT_FOUND when the actor does not see it.
  absl::StatusOr<v1::Backup> Get(const Actor& actor, const std::string& id);
  // The backups the actor sees, newest first, at most `limit`: one server's when `server_id`
  // is set.
  absl::StatusOr<std::vector<v1::Backup>> List(const Actor& actor, const std::string& server_id,
                                               int limit);

 private:
  Database& db_;
  Clock& clock_;
};

}  // namespace l4d2::controller
