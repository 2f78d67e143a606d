#pragma once

// Content layers below overlays/<ref>/: numbered versions (1, 2, ...) and `current`, the newest
// complete one. A sync builds the next version in overlays/<ref>/.staging-<operation>/ and
// switches `current` (symlink + rename) only when it is complete, so a running instance keeps
// the version it started with. Identical content makes no new version. Versions that are
// neither current nor pinned by an instance are removed after a sync.
//
// Sources implemented: inline files. Workshop items, archives and admin scripts are defined in
// the API and not implemented yet (UNIMPLEMENTED).
//
// Callers serialize syncs per ref (the operation registry's lock). Errors: INVALID_ARGUMENT
// for a bad ref or file path, RESOURCE_EXHAUSTED above the size limits.

#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "agent/host/layout.h"
#include "l4d2/agent/v1/overlay.pb.h"

namespace l4d2::agent {

struct OverlayLimits {
  size_t max_inline_bytes = size_t{16} << 20;
  int max_inline_files = 1000;
};

class OverlayManager {
 public:
  // "<ref>/<version>" -> the instances pinned to it.
  using PinnedLayers = std::function<std::map<std::string, std::vector<std::string>>()>;

  OverlayManager(HostLayout layout, OverlayLimits limits, PinnedLayers pinned);

  absl::StatusOr<v1::OverlaySyncResult> Sync(const v1::SyncOverlayRequest& request,
                                             const std::string& operation_id);
  absl::StatusOr<v1::ListOverlaysResponse> List() const;

 private:
  HostLayout layout_;
  OverlayLimits limits_;
  PinnedLayers pinned_;
};

// A relative file path inside a layer: components of printable ASCII without '/', '\\', NUL,
// not "." or "..", at most 16 components and 255 bytes.
absl::Status ValidateLayerPath(const std::string& path);

}  // namespace l4d2::agent
