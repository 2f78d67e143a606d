#pragma once

// What the overlay helper mounts for one instance, read from instances/<name>/lower (written by
// the agent, re-validated here: the helper trusts nothing it did not check itself).
//
// One layer per line, highest priority first, each relative to LEFT4ME_ROOT and of exactly one
// of these forms:
//   instances/<name>/layer            the instance's own files (server.cfg), always first
//   overlays/<ref>/<version>          a pinned overlay version
//   installation/<directory>          the pinned game build, always last
// Pure functions.

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace l4d2::agent {

inline constexpr int kMaxLowerLayers = 18;

// INVALID_ARGUMENT unless every line has one of the forms above, the instance layer comes first
// and only there, the installation comes last and only there, and there are at most
// kMaxLowerLayers lines.
absl::StatusOr<std::vector<std::string>> ParseMountPlan(absl::string_view name,
                                                        absl::string_view text);

// A version or installation directory name: [A-Za-z0-9._-], not starting with '.', 1-64 bytes.
bool IsPlainDirectoryName(absl::string_view name);

}  // namespace l4d2::agent
