#pragma once

// File helpers with Status errors. Messages name the path in quotes and give the errno text:
//   failed to open 'instances/s1/spec.yaml': No such file or directory
// Codes follow absl::ErrnoToStatusCode (ENOENT -> NOT_FOUND, EACCES -> PERMISSION_DENIED,
// ENOSPC -> RESOURCE_EXHAUSTED, ...).

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace l4d2 {

// "failed to <action> '<path>': <strerror>" with the errno's canonical code.
absl::Status ErrnoError(int error_number, absl::string_view action, absl::string_view path);

// Reads a whole file. Files larger than `max_bytes` are an INVALID_ARGUMENT error, so that a
// hostile or corrupt file cannot exhaust memory.
absl::StatusOr<std::string> ReadFileToString(const std::string& path,
                                             size_t max_bytes = size_t{64} << 20);

// Replaces `path` with `contents` so that a reader (or a crash at any instant) sees either the
// old file or the new one, never a mix: write a temporary file in the same directory, fsync it,
// rename it over `path`, fsync the directory. The file gets `mode` (not affected by umask).
// With `owner`, the file belongs to that user and group before it appears under `path`.
enum class Durability {
  kSynced,      // Survives power loss once this returns.
  kRegenerable  // Atomic but not fsynced: for files rebuilt before every use.
};
struct FileOwner {
  uid_t uid;
  gid_t gid;
};
absl::Status WriteFileAtomically(const std::string& path, absl::string_view contents,
                                 mode_t mode = 0644, Durability durability = Durability::kSynced,
                                 std::optional<FileOwner> owner = std::nullopt);

// An owned file descriptor, closed when it goes.
class UniqueFd {
 public:
  explicit UniqueFd(int fd = -1) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    std::swap(fd_, other.fd_);
    return *this;
  }
  ~UniqueFd();
  int get() const { return fd_; }
  // "/proc/self/fd/<fd>": the descriptor as a path, for calls that take only paths (mount).
  std::string ProcPath() const;

 private:
  int fd_;
};

// How OpenBeneath treats symlinks met on the way: kFollowInside resolves them as long as every
// step stays below the directory; kRefuse fails on any (ELOOP).
enum class Symlinks { kFollowInside, kRefuse };

// Opens `relative` below the directory `directory` with openat2(RESOLVE_BENEATH |
// RESOLVE_NO_MAGICLINKS, plus RESOLVE_NO_SYMLINKS for kRefuse) and `flags` (O_CLOEXEC added):
// the kernel resolves every component, links included, and refuses any step out of the
// directory ("..", an absolute link, a chain through "x -> ."): EXDEV, reported as
// PERMISSION_DENIED.
absl::StatusOr<UniqueFd> OpenBeneath(int directory, const std::string& relative, int flags,
                                     Symlinks symlinks);
// The same from a directory's path (opened without following a link at its end).
absl::StatusOr<UniqueFd> OpenBeneath(const std::string& directory, const std::string& relative,
                                     int flags, Symlinks symlinks);

// Reads the regular file `relative` below `directory` as OpenBeneath resolves it;
// FAILED_PRECONDITION when it is not a regular file, INVALID_ARGUMENT above `max_bytes`.
absl::StatusOr<std::string> ReadFileBeneath(const std::string& directory,
                                            const std::string& relative, size_t max_bytes,
                                            Symlinks symlinks);

// Writes `contents` to `path` in place (created with `mode` if missing, truncated if not): for
// a path that cannot be renamed over, such as a descriptor handed over as /proc/self/fd/N.
absl::Status WriteFileInPlace(const std::string& path, absl::string_view contents,
                              mode_t mode = 0600);

// Reads and writes on an open descriptor, retried on EINTR and short counts; `path` names the
// file in errors.
//   ReadSome     what one read(2) gives, up to `size` bytes: 0 only at the end of the file
//   ReadFullyAt  exactly `size` bytes at `offset` (pread); DATA_LOSS when the file ends first
//   WriteFully   all of `data` at the descriptor's position
//   WriteFullyAt all of `data` at `offset` (pwrite)
absl::StatusOr<size_t> ReadSome(int fd, char* buffer, size_t size, absl::string_view path);
absl::Status ReadFullyAt(int fd, char* buffer, size_t size, uint64_t offset,
                         absl::string_view path);
absl::Status WriteFully(int fd, absl::string_view data, absl::string_view path);
absl::Status WriteFullyAt(int fd, absl::string_view data, uint64_t offset, absl::string_view path);

// Makes a rename or creation in `directory` durable (fsync of the directory).
absl::Status SyncDirectory(const std::string& directory);

// Whether `path` was last written more than `age` ago (false when it cannot be looked at):
// for removing files a process stopped midway left behind.
bool WrittenLongerAgoThan(const std::string& path, absl::Duration age);

// Whether `path` is a regular file (after symlinks) that this process may execute.
bool IsExecutableFile(const std::string& path);

}  // namespace l4d2
