#pragma once

// Backups of instances' state (docs/backups.md), kept on the host below backups/<name>/:
//
//   <id>.tar.zst   a pax tar, zstd-compressed (libarchive): "instance.binpb" (the instance's
//                  record: spec, pinned build and layers) then "upper/..." (the writable layer,
//                  with overlayfs whiteouts and its trusted.overlay.* attributes)
//   <id>.binpb     the Backup message (sizes, SHA-256 of the archive, how long it took); written
//                  last, atomically: an archive without it is unfinished and never listed
//
// Consistency: a running server is paused (SIGSTOP to its unit's processes, through systemd)
// while every file of its writable layer is hard-linked into a snapshot directory and its
// metadata read, then resumed; the archive is written from the snapshot, each file cut at the
// length it had while paused. What the game appends afterwards (its logs) is not in it; a file
// the game rewrites in place afterwards (rather than replacing it) may be (srcds writes
// whole small files). The pause lasts as long as the links take: milliseconds for thousands of
// files (docs/benchmarks.md, B1).
//
// Callers serialize Take and Restore with the instance's other mutations (the operation
// registry's lock); List, Read, Write and Delete may run at any time.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "agent/host/layout.h"
#include "agent/instance/instance_manager.h"
#include "agent/os/service_manager.h"
#include "common/clock.h"
#include "l4d2/agent/v1/backup.pb.h"

namespace l4d2::agent {

struct BackupRetention {
  uint32_t keep = 0;                                   // 0: any number
  absl::Duration keep_for = absl::InfiniteDuration();  // older ones go
};

struct BackupStoreOptions {
  int zstd_level = 3;  // zstd's default: fast, and within a few percent of level 19 on game data
};

class BackupStore {
 public:
  // Everything must outlive the store.
  BackupStore(HostLayout layout, ServiceManager& systemd, InstanceManager& instances, Clock& clock,
              BackupStoreOptions options = {});

  // Takes a backup of `name` (running or not) and applies `retention` to its backups (never to
  // the new one). NOT_FOUND for an unknown instance.
  absl::StatusOr<v1::BackupInstanceResponse> Take(const std::string& name,
                                                  const BackupRetention& retention);

  // One instance's backups (empty `name`: every instance's), oldest first.
  absl::StatusOr<std::vector<v1::Backup>> List(const std::string& name);
  absl::StatusOr<v1::Backup> Get(const std::string& name, const std::string& id);

  // False when there was none.
  absl::StatusOr<bool> Delete(const std::string& name, const std::string& id);

  // Up to `max_bytes` of the archive from `offset`.
  absl::StatusOr<v1::BackupChunk> Read(const std::string& name, const std::string& id,
                                       uint64_t offset, uint32_t max_bytes);

  // A part of a copy (WriteBackupRequest's contract).
  absl::StatusOr<v1::WriteBackupResponse> Write(const v1::WriteBackupRequest& request);

  // Replaces the stopped instance's writable layer with the backup's, once its archive matched
  // its SHA-256; the work directory is emptied. FAILED_PRECONDITION while the instance runs or
  // is mounted; INVALID_ARGUMENT (nothing changed) for an archive that does not match.
  absl::Status Restore(const std::string& name, const std::string& id);

 private:
  std::string Dir(const std::string& name) const;
  std::string ArchivePath(const std::string& name, const std::string& id) const;
  std::string RecordPath(const std::string& name, const std::string& id) const;
  std::string NewId();
  // Removes the instance's backups beyond `retention`, but `kept`: their ids.
  absl::StatusOr<std::vector<std::string>> Prune(const std::string& name,
                                                 const BackupRetention& retention,
                                                 const std::string& kept);

  HostLayout layout_;
  ServiceManager& systemd_;
  InstanceManager& instances_;
  Clock& clock_;
  BackupStoreOptions options_;
};

// "<yyyymmdd>T<hhmmss>Z-<8 hex>": INVALID_ARGUMENT otherwise.
absl::Status ValidateBackupId(const std::string& id);

}  // namespace l4d2::agent
