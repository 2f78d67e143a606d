// l4d2ctl servers backup|restore, backups list|delete: servers' state kept and put back
// (docs/backups.md).

#include <ostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "ctl/command_table.h"
#include "ctl/controller_commands.h"
#include "ctl/controller_support.h"
#include "ctl/exit_codes.h"
#include "ctl/output.h"
#include "l4d2/controller/v1/api.pb.h"
#include "l4d2/controller/v1/backups.pb.h"
#include "rpc/proto_time.h"

namespace l4d2::ctl {
int RunServersBackup(const CommandContext& context, const Invocation& invocation) {
  const BackupOptions& options = context.options.backup;
  v1::BackupRequest request;
  if (options.keep < 0) return UsageError(context, invocation, "--keep: 0 or more");
  request.set_keep(static_cast<uint32_t>(options.keep));
  if (!options.keep_for.empty()) {
    absl::Duration keep_for;
    if (!absl::ParseDuration(options.keep_for, &keep_for)) {
      return UsageError(context, invocation, "--keep_for: a duration like 12h or 720h expected");
    }
    *request.mutable_keep_for() = ProtoDurationOf(keep_for);
  }
  absl::StatusOr<std::string> id = ServerId(context, invocation.args[0]);
  if (!id.ok()) return Report(context, id.status());
  absl::StatusOr<v1::JobRef> ref =
      Send<v1::JobRef>(context, "POST", "/api/v1/servers/" + *id + "/backups", ToJson(request));
  if (!ref.ok()) return Report(context, ref.status());
  return Queued(context, "backup of server " + invocation.args[0], ref->job_id());
}

int RunServersRestore(const CommandContext& context, const Invocation& invocation) {
  absl::StatusOr<std::string> id = ServerId(context, invocation.args[0]);
  if (!id.ok()) return Report(context, id.status());
  v1::RestoreRequest request;
  request.set_backup_id(invocation.args[1]);
  absl::StatusOr<v1::JobRef> ref =
      Send<v1::JobRef>(context, "POST", "/api/v1/servers/" + *id + "/restore", ToJson(request));
  if (!ref.ok()) return Report(context, ref.status());
  return Queued(
      context,
      absl::StrCat("restore of backup ", invocation.args[1], " into server ", invocation.args[0]),
      ref->job_id());
}

int RunBackupsList(const CommandContext& context, const Invocation& invocation) {
  std::string path = "/api/v1/backups";
  if (!invocation.args.empty()) {
    absl::StatusOr<std::string> id = ServerId(context, invocation.args[0]);
    if (!id.ok()) return Report(context, id.status());
    path += "?server_id=" + *id;
  }
  absl::StatusOr<v1::BackupList> list = Get<v1::BackupList>(context, path);
  if (!list.ok()) return Report(context, list.status());
  if (context.json) {
    *context.out << ToJson(*list) << "\n";
    return kExitOk;
  }
  std::ostream& out = *context.out;
  // VAULT: whether a copy is off the host, in the controller's vault (backups.vault).
  out << absl::StrFormat("%-33s %-16s %-14s %-20s %10s %10s %-5s %s\n", "ID", "SERVER", "HOST",
                         "TAKEN", "SIZE", "CONTENT", "VAULT", "BUILD");
  for (const v1::Backup& backup : list->backups()) {
    out << absl::StrFormat("%-33s %-16s %-14s %-20s %10s %10s %-5s %s\n", backup.id(),
                           backup.server_name(), backup.host_name(), Time(backup.created_at()),
                           HumanBytes(backup.size_bytes()), HumanBytes(backup.content_bytes()),
                           backup.vaulted() ? "yes" : "no",
                           backup.build_id().empty() ? "-" : backup.build_id());
  }
  if (list->backups().empty()) out << "(no backups: l4d2ctl servers backup NAME)\n";
  return kExitOk;
}

int RunBackupsDelete(const CommandContext& context, const Invocation& invocation) {
  absl::StatusOr<v1::JobRef> ref =
      Send<v1::JobRef>(context, "DELETE", "/api/v1/backups/" + invocation.args[0]);
  if (!ref.ok()) return Report(context, ref.status());
  return Queued(context, "deletion of backup " + invocation.args[0], ref->job_id());
}

}  // namespace l4d2::ctl
