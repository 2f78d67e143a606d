#pragma once

// The controller's vault: copies of backups' archives off their hosts, in a directory on the
// controller's disk (config backups.vault; docs/backups.md). A host lost with its disk keeps
// its servers' backups restorable elsewhere.
//
//   <vault>/<sha256>.tar.zst              one file per archive content, named by its SHA-256:
//                                         a backup and its copies on other hosts share one
//   <vault>/.incoming-<sha256>-XXXXXX     an archive being received
//
// A copy is received in order, checked against its size and SHA-256 at the end, fsynced and
// renamed into place: a file under its final name is always whole and matches its name. The
// catalog (ServerBackupStore, column vault_sha256) says which backups have their copy here;
// the jobs remove a file when no backup refers to it any more, and the controller's start
// removes those a stop in between left (RemoveUnreferenced). Several controllers on one
// PostgreSQL database must share the directory (a network file system or a shared volume).
//
// Thread-safe (no state beyond the directory).

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/file_util.h"
#include "common/sha256.h"

namespace l4d2::controller {

class BackupVault {
 public:
  // An archive arriving: Append its bytes in order, then Finish. Dropped before Finish
  // succeeded, it leaves nothing.
  class Incoming {
   public:
    Incoming(const Incoming&) = delete;
    Incoming& operator=(const Incoming&) = delete;
    ~Incoming();

    absl::Status Append(absl::string_view data);
    // DATA_LOSS when the bytes received are not `size_bytes` long or do not match `sha256`
    // (nothing is kept); else the copy is in place, durably.
    absl::Status Finish();

   private:
    friend class BackupVault;
    Incoming(std::string path, std::string final_path, std::string sha256, uint64_t size_bytes,
             UniqueFd fd);

    std::string path_, final_path_, sha256_;
    uint64_t size_bytes_;
    uint64_t received_ = 0;
    UniqueFd fd_;
    Sha256 digest_;
    bool finished_ = false;
  };

  explicit BackupVault(std::string dir);

  // Creates the directory (0700) if missing and removes copies left incoming for more than a
  // day (a controller stopped in the middle of one).
  absl::Status Open();

  const std::string& dir() const { return dir_; }
  // Whether the whole archive with this SHA-256 is here.
  bool Has(absl::string_view sha256) const;
  // Starts receiving the archive with `sha256` (64 lowercase hex digits, else
  // INVALID_ARGUMENT) and `size_bytes`.
  absl::StatusOr<std::unique_ptr<Incoming>> Receive(absl::string_view sha256, uint64_t size_bytes);
  // Up to `max_bytes` of the archive from `offset`, and its size. NOT_FOUND when it is not
  // here; OUT_OF_RANGE for an offset past its end.
  struct Part {
    std::string data;
    uint64_t size_bytes = 0;
  };
  absl::StatusOr<Part> Read(absl::string_view sha256, uint64_t offset, size_t max_bytes) const;
  // Removes the archive's copy; OK when there was none.
  absl::Status Remove(absl::string_view sha256);
  // Removes the copies no backup refers to (`referenced`: the catalog's digests) that are older
  // than `min_age` (a copy just put in place is recorded a moment later, perhaps by another
  // controller): what a controller stopped between forgetting a backup and removing its copy
  // left. The digests removed.
  absl::StatusOr<std::vector<std::string>> RemoveUnreferenced(
      const absl::flat_hash_set<std::string>& referenced, absl::Duration min_age);

 private:
  std::string PathOf(absl::string_view sha256) const;

  std::string dir_;
};

}  // namespace l4d2::controller
