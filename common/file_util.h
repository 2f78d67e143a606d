#pragma once

// File helpers with Status errors. Messages name the path in quotes and give the errno text:
//   failed to open 'instances/s1/spec.yaml': No such file or directory
// Codes follow absl::ErrnoToStatusCode (ENOENT -> NOT_FOUND, EACCES -> PERMISSION_DENIED,
// ENOSPC -> RESOURCE_EXHAUSTED, ...).

#include <sys/types.h>

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

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
enum class Durability {
  kSynced,      // Survives power loss once this returns.
  kRegenerable  // Atomic but not fsynced: for files rebuilt before every use.
};
absl::Status WriteFileAtomically(const std::string& path, absl::string_view contents,
                                 mode_t mode = 0644, Durability durability = Durability::kSynced);

// Whether `path` is a regular file (after symlinks) that this process may execute.
bool IsExecutableFile(const std::string& path);

}  // namespace l4d2
