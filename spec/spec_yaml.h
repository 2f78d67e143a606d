#pragma once

// The instance spec file of `l4d2ctl initialize <name> -f spec.yaml` (docs/instance-spec.md).
// Loaded with the limits of common/yaml_document.h (no anchors or aliases, no unknown keys).

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "l4d2/agent/v1/instance.pb.h"

namespace l4d2::spec {

absl::StatusOr<agent::v1::InstanceSpec> ParseInstanceSpecYaml(const std::string& text,
                                                              const std::string& what);
absl::StatusOr<agent::v1::InstanceSpec> LoadInstanceSpecFile(const std::string& path);

// A blueprint file of `l4d2ctl blueprints apply -f FILE` (docs/l4d2ctl.md): an instance spec
// file with a `name` and without `port` (the controller picks ports); overlays by ref.
struct BlueprintYaml {
  std::string name;
  agent::v1::InstanceSpec settings;  // overlays cleared: they are in `overlays`
  std::vector<agent::v1::OverlayLayer> overlays;
};
absl::StatusOr<BlueprintYaml> ParseBlueprintYaml(const std::string& text, const std::string& what);
// The file ParseBlueprintYaml reads back to the same blueprint.
std::string BlueprintToYaml(const std::string& name, const agent::v1::InstanceSpec& settings,
                            const std::vector<agent::v1::OverlayLayer>& overlays);

}  // namespace l4d2::spec
