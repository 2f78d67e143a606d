#pragma once

// The overlay file of `l4d2ctl overlays apply -f FILE` and `overlays export` (docs/l4d2ctl.md):
//
//   ref: maps
//   global: false                 # a global overlay, for everyone (admins)
//   # exactly one source:
//   dir: ./maps                   # every regular file below it (relative to this file)
//   archive: {url: https://..., sha256: HEX, destination: left4dead2/addons, strip: 1}
//   workshop: {items: [123], collections: [456]}
//   script: {file: ./build.sh, network: false, timeout: 10m}
//
// Loaded with the limits of common/yaml_document.h (no anchors or aliases, no unknown keys).

#include <string>

#include "absl/status/statusor.h"
#include "ctl/agent_commands.h"
#include "l4d2/agent/v1/overlay.pb.h"

namespace l4d2::ctl {

struct OverlayYaml {
  std::string ref;
  bool global = false;
  agent::v1::SyncOverlayRequest source;  // operation id and ref unset
};

// INVALID_ARGUMENT naming the key for a malformed file; files it names are read here.
absl::StatusOr<OverlayYaml> LoadOverlayYaml(const std::string& path);

// The file for an overlay's source. Inline files and scripts are written below `dir` (which
// the file then names); INVALID_ARGUMENT when they need one and `dir` is empty.
absl::StatusOr<std::string> OverlayToYaml(const std::string& ref, bool global,
                                          const agent::v1::SyncOverlayRequest& source,
                                          const std::string& dir);

}  // namespace l4d2::ctl
