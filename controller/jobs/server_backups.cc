#include "controller/jobs/server_backups.h"

#include <algorithm>
#include <functional>
#include <memory>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "common/status_macros.h"
#include "controller/store/backup_vault.h"
#include "l4d2/controller/v1/backups.pb.h"
#include "l4d2/controller/v1/jobs.pb.h"
#include "rpc/proto_json.h"
#include "rpc/proto_time.h"
#include "soci/soci.h"

namespace l4d2::controller {
namespace {

constexpr uint32_t kMaxKeep = 100;
// Parts of a copy between hosts: big enough that a 1 GiB archive is 256 calls, small enough
// for gRPC's default 4 MiB message limit with room to spare.
constexpr uint32_t kCopyPart = 4u << 20;

NewJob BackupJob(const std::string& kind, const v1::ServerJobParams& params,
                 const std::string& created_by) {
  return {.kind = kind,
          .lock_key = "server:" + params.server_id(),
          .params = ToJson(params),
          .created_by = created_by};
}

// Queues `job` and audits it (`entry`, its detail made by `detail` from the job's id),
// together.
absl::StatusOr<std::string> QueueAudited(
    FleetStores& stores, const NewJob& job, AuditEntry entry,
    const std::function<std::string(const std::string&)>& detail) {
  std::string id;
  L4D2_RETURN_IF_ERROR(stores.db.Transact([&](soci::session& sql) -> absl::Status {
    L4D2_ASSIGN_OR_RETURN(std::vector<std::string> ids,
                          stores.jobs.Enqueue(sql, absl::MakeConstSpan(&job, 1)));
    id = ids.front();
    entry.detail = detail(id);
    stores.audit.Append(sql, absl::MakeConstSpan(&entry, 1));
    return absl::OkStatus();
  }));
  return id;
}

// The placed server's host, reachable. FAILED_PRECONDITION for a server never placed.
absl::StatusOr<Host> HostOf(FleetStores& stores, const Server& server) {
  if (server.host_id.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("server '", server.name, "' was never placed on a host: start it once"));
  }
  L4D2_ASSIGN_OR_RETURN(Host host, stores.hosts.Get(server.host_id));
  if (host.state == "unreachable") {
    return absl::UnavailableError(absl::StrCat("host '", host.name, "' is unreachable"));
  }
  return host;
}

// The agent's description of a backup the catalog holds.
agent::v1::Backup AgentBackupOf(const v1::Backup& backup) {
  agent::v1::Backup archive;
  archive.set_id(backup.archive_id());
  archive.set_name(backup.server_name());
  *archive.mutable_created_at() = backup.created_at();
  archive.set_size_bytes(backup.size_bytes());
  archive.set_content_bytes(backup.content_bytes());
  archive.set_files(backup.files());
  archive.set_sha256(backup.sha256());
  *archive.mutable_paused() = backup.paused();
  *archive.mutable_took() = backup.took();
  archive.set_build_id(backup.build_id());
  return archive;
}

// One part of an archive from `offset`, wherever it is read from: its host's agent or the
// controller's vault.
using ReadPart = std::function<absl::StatusOr<agent::v1::BackupChunk>(uint64_t offset)>;

ReadPart FromHost(const JobContext& context, AgentCall& call, const Host& host,
                  const v1::Backup& backup) {
  return [&context, &call, host, backup](uint64_t offset) {
    agent::v1::ReadBackupRequest read;
    read.set_name(backup.server_name());
    read.set_id(backup.archive_id());
    read.set_offset(offset);
    read.set_max_bytes(kCopyPart);
    return context.agents.ReadBackup(host, read, call);
  };
}

ReadPart FromVault(const BackupVault& vault, const v1::Backup& backup) {
  return [&vault, backup](uint64_t offset) -> absl::StatusOr<agent::v1::BackupChunk> {
    L4D2_ASSIGN_OR_RETURN(BackupVault::Part part, vault.Read(backup.sha256(), offset, kCopyPart));
    agent::v1::BackupChunk chunk;
    chunk.set_size_bytes(part.size_bytes);
    *chunk.mutable_data() = std::move(part.data);
    return chunk;
  };
}

bool InVault(const JobContext& context, const v1::Backup& backup) {
  return context.vault != nullptr && backup.vaulted() && context.vault->Has(backup.sha256());
}

// Sends the archive `read` gives to `host` as backup `archive` of `instance`, part by part:
// the agent checks its size and SHA-256 at the last part (DATA_LOSS when they differ).
absl::Status SendArchive(const JobContext& context, AgentCall& call, const ReadPart& read,
                         const Host& host, const std::string& instance,
                         const agent::v1::Backup& archive) {
  agent::v1::WriteBackupRequest write;
  write.set_name(instance);
  *write.mutable_backup() = archive;
  uint64_t offset = 0;
  while (true) {
    L4D2_ASSIGN_OR_RETURN(agent::v1::BackupChunk chunk, read(offset));
    write.set_offset(offset);
    offset += chunk.data().size();
    write.set_last(offset >= chunk.size_bytes());
    *write.mutable_data() = std::move(*chunk.mutable_data());
    L4D2_ASSIGN_OR_RETURN(agent::v1::WriteBackupResponse written,
                          context.agents.WriteBackup(host, write, call));
    if (written.complete()) return absl::OkStatus();
    if (write.last() || write.data().empty()) {
      return absl::DataLossError(absl::StrCat("the copy of archive ", archive.id(), " ended at ",
                                              offset, " bytes, incomplete"));
    }
  }
}

struct Copied {
  v1::Backup copy;     // recorded in the catalog
  std::string source;  // where it was read: "host <name>", "vault"
};

// Copies `backup`'s archive to `host` as a backup of `server`: from its host while that is
// reachable and holds it, else from the vault.
absl::StatusOr<Copied> CopyBackup(const JobContext& context, AgentCall& call,
                                  const v1::Backup& backup, const Server& server, const Host& host,
                                  const std::string& created_by) {
  FleetStores& stores = context.stores;
  const agent::v1::Backup archive = AgentBackupOf(backup);
  absl::StatusOr<Host> origin = stores.hosts.Get(backup.host_id());
  if (!origin.ok() && !absl::IsNotFound(origin.status())) return origin.status();
  std::string source;
  absl::Status from_host;
  if (!origin.ok()) {
    from_host = absl::UnavailableError(
        absl::StrCat("the host backup ", backup.id(), " was taken on is gone from the fleet"));
  } else if (origin->state == "unreachable") {
    from_host = absl::UnavailableError(absl::StrCat("host '", origin->name, "', where backup ",
                                                    backup.id(), " is, is unreachable"));
  } else {
    call.Event("step", absl::StrCat("copy backup ", backup.id(), " (", backup.size_bytes(),
                                    " bytes) from host ", origin->name, " to host ", host.name));
    from_host = SendArchive(context, call, FromHost(context, call, *origin, backup), host,
                            server.name, archive);
    source = absl::StrCat("host ", origin->name);
  }
  // A host's answer that it lacks the archive falls back on the vault too (a disk replaced);
  // a copy that failed its check does not (the agent discarded it: the job is retried).
  if (!from_host.ok() && (absl::IsUnavailable(from_host) || absl::IsNotFound(from_host))) {
    if (!InVault(context, backup)) {
      return absl::Status(
          from_host.code(),
          absl::StrCat(from_host.message(), context.vault == nullptr
                                                ? " (no vault: backups.vault is not set)"
                                                : "; no copy of it is in the controller's vault"));
    }
    call.Event("step", absl::StrCat("copy backup ", backup.id(), " (", backup.size_bytes(),
                                    " bytes) from the vault to host ", host.name, ": ",
                                    from_host.message()));
    from_host =
        SendArchive(context, call, FromVault(*context.vault, backup), host, server.name, archive);
    source = "vault";
  }
  L4D2_RETURN_IF_ERROR(from_host);
  v1::Backup copy = backup;
  copy.set_server_id(server.id);
  copy.set_server_name(server.name);
  copy.set_owner_id(server.owner_id);
  copy.set_host_id(host.id);
  copy.set_host_name(host.name);
  copy.set_created_by(created_by);
  copy.set_copied_from(backup.id());
  copy.set_vaulted(InVault(context, backup));
  L4D2_RETURN_IF_ERROR(stores.db.Transact([&](soci::session& sql) -> absl::Status {
    stores.backups.Add(sql, copy);
    return absl::OkStatus();
  }));
  return Copied{.copy = std::move(copy), .source = std::move(source)};
}

// Copies a backup just taken on `host` into the vault (unless it is there already: a retried
// job) and records it so.
absl::Status Vault(const JobContext& context, AgentCall& call, const Host& host,
                   v1::Backup& backup) {
  BackupVault& vault = *context.vault;
  if (!vault.Has(backup.sha256())) {
    call.Event("step", absl::StrCat("copy backup ", backup.id(), " (", backup.size_bytes(),
                                    " bytes) to the vault"));
    L4D2_ASSIGN_OR_RETURN(std::unique_ptr<BackupVault::Incoming> incoming,
                          vault.Receive(backup.sha256(), backup.size_bytes()));
    const ReadPart read = FromHost(context, call, host, backup);
    for (uint64_t offset = 0; offset < backup.size_bytes();) {
      L4D2_ASSIGN_OR_RETURN(agent::v1::BackupChunk chunk, read(offset));
      if (chunk.data().empty()) break;  // Finish says how short it is
      offset += chunk.data().size();
      L4D2_RETURN_IF_ERROR(incoming->Append(chunk.data()));
    }
    L4D2_RETURN_IF_ERROR(incoming->Finish());
  }
  return context.stores.db.Transact([&](soci::session& sql) -> absl::Status {
    context.stores.backups.SetVaulted(sql, backup);
    return absl::OkStatus();
  });
}

// Removes the vault's copies of `forgotten` backups that no backup refers to any more. A
// failure is told, not returned: the backups are gone either way, and a file left over wastes
// space but misleads nobody (the catalog no longer points at it).
void ReleaseVaultCopies(const JobContext& context, AgentCall& call,
                        const std::vector<v1::Backup>& forgotten) {
  if (context.vault == nullptr) return;
  for (const v1::Backup& backup : forgotten) {
    if (!backup.vaulted()) continue;
    bool referred = true;
    absl::Status status = context.stores.db.WithSession([&](soci::session& sql) {
      referred = context.stores.backups.Vaulted(sql, backup.sha256());
      return absl::OkStatus();
    });
    if (status.ok() && !referred) status = context.vault->Remove(backup.sha256());
    if (!status.ok()) {
      L4D2_LOG(WARNING) << "backup vault: the copy of backup " << backup.id()
                        << " was not removed: " << status.message();
      call.Event("step", absl::StrCat("warning: the vault's copy of backup ", backup.id(),
                                      " was not removed: ", status.message()));
    }
  }
}

}  // namespace

absl::StatusOr<std::string> RequestBackup(FleetStores& stores, const Actor& actor,
                                          const std::string& server_id, uint32_t keep,
                                          absl::Duration keep_for) {
  if (keep > kMaxKeep) return absl::InvalidArgumentError("keep: 0 (the config's) to 100");
  if (keep_for != absl::ZeroDuration() && keep_for < absl::Hours(1)) {
    return absl::InvalidArgumentError("keep_for: unset (the config's) or at least 1h");
  }
  L4D2_ASSIGN_OR_RETURN(Server server, stores.servers.Get(actor, server_id));
  if (server.host_id.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "server '", server.name, "' was never placed on a host: it has no files to back up yet"));
  }
  v1::ServerJobParams params;
  params.set_server_id(server.id);
  params.set_keep(keep);
  if (keep_for != absl::ZeroDuration()) *params.mutable_keep_for() = ProtoDurationOf(keep_for);
  return QueueAudited(stores, BackupJob("server.backup", params, actor.Name()),
                      {.actor = actor.Name(),
                       .action = "server.backup",
                       .target = server.id,
                       .owner = server.owner_id},
                      [&](const std::string& job) {
                        return AuditDetail({{"name", server.name}, {"job", job}});
                      });
}

absl::StatusOr<std::string> RequestRestore(FleetStores& stores, const Actor& actor,
                                           const std::string& server_id,
                                           const std::string& backup_id) {
  L4D2_ASSIGN_OR_RETURN(Server server, stores.servers.Get(actor, server_id));
  L4D2_ASSIGN_OR_RETURN(v1::Backup backup, stores.backups.Get(actor, backup_id));
  if (backup.owner_id() != server.owner_id) {
    return absl::InvalidArgumentError(absl::StrCat(
        "backup_id: backup ", backup_id, " is of another owner's server: not restored here"));
  }
  if (server.host_id.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "server '", server.name, "' was never placed on a host: start it once, then restore"));
  }
  v1::ServerJobParams params;
  params.set_server_id(server.id);
  params.set_backup_id(backup.id());
  return QueueAudited(
      stores, BackupJob("server.restore", params, actor.Name()),
      {.actor = actor.Name(),
       .action = "server.restore",
       .target = server.id,
       .owner = server.owner_id},
      [&](const std::string& job) {
        return AuditDetail({{"name", server.name}, {"backup", backup.id()}, {"job", job}});
      });
}

absl::StatusOr<std::string> RequestBackupDeletion(FleetStores& stores, const Actor& actor,
                                                  const std::string& backup_id) {
  L4D2_ASSIGN_OR_RETURN(v1::Backup backup, stores.backups.Get(actor, backup_id));
  if (!actor.Owns(backup.owner_id())) {
    return absl::NotFoundError(absl::StrCat("no backup '", backup_id, "'"));
  }
  v1::ServerJobParams params;
  params.set_server_id(backup.server_id());
  params.set_backup_id(backup.id());
  return QueueAudited(stores, BackupJob("backup.delete", params, actor.Name()),
                      {.actor = actor.Name(),
                       .action = "backup.delete",
                       .target = backup.id(),
                       .owner = backup.owner_id()},
                      [&](const std::string& job) {
                        return AuditDetail({{"server", backup.server_name()}, {"job", job}});
                      });
}

absl::StatusOr<std::string> RunServerBackup(const JobContext& context, const Job& job,
                                            AgentCall& call) {
  FleetStores& stores = context.stores;
  L4D2_ASSIGN_OR_RETURN(v1::ServerJobParams params,
                        FromJson<v1::ServerJobParams>(job.params, "job parameters"));
  L4D2_ASSIGN_OR_RETURN(Server server, stores.servers.Get(Actor::System(), params.server_id()));
  L4D2_ASSIGN_OR_RETURN(Host host, HostOf(stores, server));
  agent::v1::BackupInstanceRequest request;
  request.set_operation_id(job.id + ":backup");
  request.set_name(server.name);
  request.set_keep(params.keep() != 0 ? params.keep() : context.backups.keep);
  const absl::Duration keep_for =
      params.has_keep_for() ? DurationOf(params.keep_for()) : context.backups.keep_for;
  if (keep_for != absl::ZeroDuration()) *request.mutable_keep_for() = ProtoDurationOf(keep_for);
  L4D2_ASSIGN_OR_RETURN(agent::v1::BackupInstanceResponse taken,
                        context.agents.BackupInstance(host, request, call));
  const agent::v1::Backup& archive = taken.backup();
  v1::ServerBackupResult result;
  v1::Backup& backup = *result.mutable_backup();
  backup.set_server_id(server.id);
  backup.set_server_name(server.name);
  backup.set_owner_id(server.owner_id);
  backup.set_host_id(host.id);
  backup.set_host_name(host.name);
  backup.set_archive_id(archive.id());
  *backup.mutable_created_at() = archive.created_at();
  backup.set_size_bytes(archive.size_bytes());
  backup.set_content_bytes(archive.content_bytes());
  backup.set_files(archive.files());
  backup.set_sha256(archive.sha256());
  backup.set_build_id(archive.build_id());
  *backup.mutable_paused() = archive.paused();
  *backup.mutable_took() = archive.took();
  backup.set_created_by(job.created_by);
  const std::vector<std::string> pruned(taken.pruned().begin(), taken.pruned().end());
  std::vector<v1::Backup> forgotten;
  L4D2_RETURN_IF_ERROR(stores.db.Transact([&](soci::session& sql) -> absl::Status {
    stores.backups.Add(sql, backup);
    forgotten = stores.backups.RemoveArchives(sql, host.id, server.name, pruned);
    return absl::OkStatus();
  }));
  for (const v1::Backup& gone : forgotten) result.add_pruned(gone.id());
  call.Event("step", absl::StrCat("backup ", backup.id(), ": ", backup.files(), " entries, ",
                                  backup.content_bytes(), " bytes in ", backup.size_bytes(), "; ",
                                  result.pruned_size(), " older removed"));
  ReleaseVaultCopies(context, call, forgotten);
  if (context.vault != nullptr) L4D2_RETURN_IF_ERROR(Vault(context, call, host, backup));
  return ToJson(result);
}

absl::StatusOr<std::string> RunServerRestore(const JobContext& context, const Job& job,
                                             AgentCall& call) {
  FleetStores& stores = context.stores;
  const absl::Time started = stores.clock.Now();
  L4D2_ASSIGN_OR_RETURN(v1::ServerJobParams params,
                        FromJson<v1::ServerJobParams>(job.params, "job parameters"));
  L4D2_ASSIGN_OR_RETURN(Server server, stores.servers.Get(Actor::System(), params.server_id()));
  L4D2_ASSIGN_OR_RETURN(v1::Backup backup, stores.backups.Get(Actor::System(), params.backup_id()));
  L4D2_ASSIGN_OR_RETURN(Host host, HostOf(stores, server));
  v1::ServerRestoreResult result;
  result.set_backup_id(backup.id());
  v1::Backup local = backup;
  if (backup.host_id() != host.id || backup.server_id() != server.id) {
    L4D2_ASSIGN_OR_RETURN(Copied copied,
                          CopyBackup(context, call, backup, server, host, job.created_by));
    local = std::move(copied.copy);
    result.set_copy_id(local.id());
    result.set_copied_from(copied.source);
  }
  agent::v1::GetInstanceRequest get;
  get.set_name(server.name);
  L4D2_ASSIGN_OR_RETURN(agent::v1::Instance instance, context.agents.GetInstance(host, get, call));
  const agent::v1::InstanceState state = instance.status().state();
  // Anything but stopped is stopped first (a crashed unit systemd would restart too).
  const bool running = state != agent::v1::INSTANCE_STATE_STOPPED;
  // Started again after: one that ran, or should (a retry after the first try stopped it).
  const bool was_running =
      state == agent::v1::INSTANCE_STATE_STARTING || state == agent::v1::INSTANCE_STATE_RUNNING ||
      state == agent::v1::INSTANCE_STATE_HUNG || server.desired_state == DesiredState::kRunning;
  result.set_was_running(was_running);
  if (running) {
    call.Event("step", "stop the server");
    agent::v1::StopInstanceRequest stop;
    stop.set_operation_id(job.id + ":stop");
    stop.set_name(server.name);
    L4D2_RETURN_IF_ERROR(context.agents.StopInstance(host, stop, call).status());
  }
  call.Event("step", absl::StrCat("restore backup ", local.id(), " (", local.archive_id(), ")"));
  agent::v1::RestoreBackupRequest restore;
  restore.set_operation_id(job.id + ":restore");
  restore.set_name(server.name);
  restore.set_id(local.archive_id());
  absl::Status restored = context.agents.RestoreBackup(host, restore, call).status();
  if (absl::IsNotFound(restored) && InVault(context, local)) {
    // The host lost the archive (a disk replaced, a file removed by hand): the vault's copy
    // goes back under its id.
    call.Event("step", absl::StrCat("copy backup ", local.id(), " from the vault back to host ",
                                    host.name, ": ", restored.message()));
    L4D2_RETURN_IF_ERROR(SendArchive(context, call, FromVault(*context.vault, local), host,
                                     server.name, AgentBackupOf(local)));
    result.set_copied_from("vault");
    restored = context.agents.RestoreBackup(host, restore, call).status();
  }
  L4D2_RETURN_IF_ERROR(restored);
  if (was_running) {
    call.Event("step", "start the server");
    agent::v1::StartInstanceRequest start;
    start.set_operation_id(job.id + ":start");
    start.set_name(server.name);
    L4D2_RETURN_IF_ERROR(context.agents.StartInstance(host, start, call).status());
  }
  *result.mutable_took() = ProtoDurationOf(stores.clock.Now() - started);
  return ToJson(result);
}

absl::StatusOr<std::string> RunBackupDeletion(const JobContext& context, const Job& job,
                                              AgentCall& call) {
  FleetStores& stores = context.stores;
  L4D2_ASSIGN_OR_RETURN(v1::ServerJobParams params,
                        FromJson<v1::ServerJobParams>(job.params, "job parameters"));
  absl::StatusOr<v1::Backup> backup = stores.backups.Get(Actor::System(), params.backup_id());
  if (absl::IsNotFound(backup.status())) return std::string("{}");  // a retry: gone already
  L4D2_RETURN_IF_ERROR(backup.status());
  absl::StatusOr<Host> host = stores.hosts.Get(backup->host_id());
  if (host.ok()) {
    if (host->state == "unreachable") {
      return absl::UnavailableError(absl::StrCat("host '", host->name, "' is unreachable"));
    }
    agent::v1::DeleteBackupRequest request;
    request.set_name(backup->server_name());
    request.set_id(backup->archive_id());
    L4D2_RETURN_IF_ERROR(context.agents.DeleteBackup(*host, request, call));
  } else if (!absl::IsNotFound(host.status())) {
    return host.status();
  }  // else the host left the fleet, and its archives with it
  L4D2_RETURN_IF_ERROR(stores.db.Transact([&](soci::session& sql) -> absl::Status {
    stores.backups.Remove(sql, backup->id());
    return absl::OkStatus();
  }));
  ReleaseVaultCopies(context, call, {*backup});
  return std::string("{}");
}

}  // namespace l4d2::controller
