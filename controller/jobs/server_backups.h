#pragma once

// Backups of servers' state as jobs (docs/backups.md):
//
//   server.backup    the agent archives the server's writable layer and record on its host
//                    (running or not), applies the retention and the catalog follows: the new
//                    backup recorded, the pruned ones forgotten, in one transaction; with a
//                    vault (JobContext::vault), the archive is then copied into it, checked,
//                    and recorded as vaulted
//   server.restore   the server's writable layer replaced by a backup's: copied first, part by
//                    part through the controller, when the archive is on another host or of
//                    another server (checked against its SHA-256 by the receiving agent, and
//                    recorded as a backup of this server); read from the vault when its host is
//                    unreachable, gone from the fleet, or lost it; a running server is stopped
//                    for it and started again
//   backup.delete    the archive removed from its host (unless the host left the fleet), then
//                    from the catalog
// A vault copy goes when no backup refers to it any more (deleted, pruned).
//
// Each is locked per server (a restore never meets a start, a backup never a restore), and
// each agent call carries an operation id made of the job's: a retried job re-attaches.

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "controller/jobs/job_kinds.h"

namespace l4d2::controller {

// Queues a backup of a server the actor sees, audited ("server.backup"). `keep` 0 and
// `keep_for` zero: the config's retention. INVALID_ARGUMENT for keep above 100 or keep_for
// under an hour or a server never placed (no files yet); NOT_FOUND for a server the actor
// does not see.
absl::StatusOr<std::string> RequestBackup(FleetStores& stores, const Actor& actor,
                                          const std::string& server_id, uint32_t keep,
                                          absl::Duration keep_for);

// Queues the restore of `backup_id` into a server the actor sees, audited ("server.restore").
// NOT_FOUND for a server or backup the actor does not see; INVALID_ARGUMENT for a backup of
// another owner's server, or a server never placed (nothing to restore into yet).
absl::StatusOr<std::string> RequestRestore(FleetStores& stores, const Actor& actor,
                                           const std::string& server_id,
                                           const std::string& backup_id);

// Queues the deletion of a backup the actor sees, audited ("backup.delete").
absl::StatusOr<std::string> RequestBackupDeletion(FleetStores& stores, const Actor& actor,
                                                  const std::string& backup_id);

absl::StatusOr<std::string> RunServerBackup(const JobContext& context, const Job& job,
                                            AgentCall& call);
absl::StatusOr<std::string> RunServerRestore(const JobContext& context, const Job& job,
                                             AgentCall& call);
absl::StatusOr<std::string> RunBackupDeletion(const JobContext& context, const Job& job,
                                              AgentCall& call);

}  // namespace l4d2::controller
