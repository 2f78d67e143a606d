#pragma once

// The instance spec file of `l4d2ctl initialize <name> -f spec.yaml` (docs/instance-spec.md).
// Loaded with the limits of common/yaml_document.h (no anchors or aliases, no unknown keys).

#include <string>

#include "absl/status/statusor.h"
#include "l4d2/agent/v1/instance.pb.h"

namespace l4d2::ctl {

absl::StatusOr<agent::v1::InstanceSpec> ParseInstanceSpecYaml(const std::string& text,
                                                              const std::string& what);
absl::StatusOr<agent::v1::InstanceSpec> LoadInstanceSpecFile(const std::string& path);

}  // namespace l4d2::ctl
