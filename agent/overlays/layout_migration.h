#pragma once

// Hosts laid overlays out as nested paths until refs became one directory each
// (HostLayout::overlay_dir): `users/42/maps` was overlays/users/42/maps/<version>, inside
// overlays/users/ when `users` was a ref too, where that ref's syncs took it for one of its own
// versions. MigrateOverlayLayout moves every nested ref to its own directory
// (overlays/users+42+maps/) and rewrites the mount plans (instances/<name>/lower) that name it.
//
// Renaming a directory keeps the overlay mounts of running instances (the kernel holds the
// layers, not their paths), and the rewritten plans serve their next mount. A nested ref is a
// directory below overlays/ at depth 2 to 8 whose `current` link names a numbered directory
// beside it. Idempotent and resumable: a crash midway leaves refs either moved or not, and the
// next start finishes; overlays/.layout records completion so later starts skip the walk.

#include "absl/status/statusor.h"
#include "agent/host/layout.h"

namespace l4d2::agent {

// The number of refs moved (0 on a host already laid out per ref). FAILED_PRECONDITION when a
// nested ref's new directory exists already (nothing of that ref is moved then).
absl::StatusOr<int> MigrateOverlayLayout(const HostLayout& layout);

}  // namespace l4d2::agent
