#pragma once

// The privileged half of instance mounts, used only by the left4me-overlay program.
//
// Every path is opened beneath the root with openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
// RESOLVE_NO_MAGICLINKS), so a symlink swapped in anywhere (even in a race) makes the call
// fail instead of escaping; the overlay is then mounted from the opened descriptors
// (/proc/self/fd/N), never by re-resolving a path.

#include <string>

#include "absl/status/status.h"

namespace l4d2::agent {

class OverlayMounter {
 public:
  // `root` is LEFT4ME_ROOT (absolute).
  explicit OverlayMounter(std::string root) : root_(std::move(root)) {}

  // Mounts runtime/<name>/merged from instances/<name>/lower over runtime/<name>/{upper,work}.
  // Already mounted: OK (idempotent). INVALID_ARGUMENT for a bad name or plan,
  // PERMISSION_DENIED / NOT_FOUND from the kernel with the path.
  absl::Status Mount(const std::string& name);
  // Unmounts (not mounted: OK) and removes the kernel's leftover work/work.
  absl::Status Unmount(const std::string& name);
  // Whether runtime/<name>/merged is an overlay mount point (statx's mount-root
  // attribute and the file system's type, through a descriptor opened beneath the root).
  bool IsMounted(const std::string& name) const;

 private:
  std::string root_;
};

}  // namespace l4d2::agent
