#pragma once

// One way for every binary to take its configuration: the YAML file named by --config (or the
// struct's defaults without one), then each flag that was given overriding its field, then the
// whole checked. Flags that override a config field are declared `std::optional<T>` with no
// default, so "not given" differs from "given empty" (an empty listen address disables it).
//
//   absl::StatusOr<AgentConfig> config = ConfigFromFileAndFlags<AgentConfig>(
//       absl::GetFlag(FLAGS_config), LoadAgentConfig,
//       [](AgentConfig& c) { OverrideWith(absl::GetFlag(FLAGS_root), c.root); },
//       ValidateAgentConfig);

#include <optional>
#include <string>
#include <utility>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace l4d2 {

template <typename T>
void OverrideWith(const std::optional<T>& flag, T& field) {
  if (flag.has_value()) field = *flag;
}

template <typename Config>
absl::StatusOr<Config> ConfigFromFileAndFlags(
    const std::string& path, absl::FunctionRef<absl::StatusOr<Config>(const std::string&)> load,
    absl::FunctionRef<void(Config&)> apply_flags,
    absl::FunctionRef<absl::Status(const Config&)> validate) {
  Config config;
  if (!path.empty()) {
    absl::StatusOr<Config> loaded = load(path);
    if (!loaded.ok()) return loaded.status();
    config = *std::move(loaded);
  }
  apply_flags(config);
  if (absl::Status valid = validate(config); !valid.ok()) return valid;
  return config;
}

}  // namespace l4d2
