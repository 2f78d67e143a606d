#pragma once

// What the overlay helper mounts for one instance, read from instances/<name>/lower (written by
// the agent, re-validated here: the helper trusts nothing it did not check itself).
//
// One layer per line, highest priority first, each relative to LEFT4ME_ROOT and of exactly one
// of these forms:
//   instances/<name>/layer            the instance's own files (server.cfg), always first
//   overlays/<directory>/<version>    a pinned overlay version (OverlayDirectory of its ref)
//   installation/<directory>          the pinned game build, always last
// The agent writes the file with RenderMountPlan, the helper reads it with ParseMountPlan: one
// format, beside its one parser. Pure functions.

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace l4d2::agent {

inline constexpr int kMaxLowerLayers = 18;

// An instance's layers as the agent pins them.
struct MountPlan {
  std::string instance;  // its own layer (instances/<instance>/layer) comes first
  struct Overlay {
    std::string ref;
    std::string version;
  };
  std::vector<Overlay> overlays;  // highest priority first
  std::string installation;       // a directory name in installation/, last
};

// The text of instances/<name>/lower for `plan`, one layer a line. It does not validate:
// ParseMountPlan, in the helper, is the check.
std::string RenderMountPlan(const MountPlan& plan);

// INVALID_ARGUMENT unless every line has one of the forms above, the instance layer comes first
// and only there, the installation comes last and only there, and there are at most
// kMaxLowerLayers lines.
absl::StatusOr<std::vector<std::string>> ParseMountPlan(absl::string_view name,
                                                        absl::string_view text);

// A version or installation directory name: [A-Za-z0-9._-], not starting with '.', 1-64 bytes.
bool IsPlainDirectoryName(absl::string_view name);

}  // namespace l4d2::agent
