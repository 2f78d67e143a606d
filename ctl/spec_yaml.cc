#include "ctl/spec_yaml.h"

#include "absl/strings/str_cat.h"
#include "common/file_util.h"
#include "common/status_macros.h"
#include "common/yaml_document.h"

namespace l4d2::ctl {

absl::StatusOr<agent::v1::InstanceSpec> ParseInstanceSpecYaml(const std::string& text,
                                                              const std::string& what) {
  L4D2_ASSIGN_OR_RETURN(YAML::Node document,
                        ParseYamlDocument(text, what, YamlLimits{.max_bytes = 256 * 1024}));
  agent::v1::InstanceSpec spec;
  YamlMapReader root(document, "");
  int port = 0;
  root.Int("port", &port, 1, 65535, /*required=*/true);
  spec.set_port(port);
  std::string text_value;
  root.String("hostname", &text_value);
  spec.set_hostname(text_value);
  text_value.clear();
  root.String("map", &text_value);
  spec.set_start_map(text_value);
  int players = 0;
  root.Int("max_players", &players, 1, 32);
  spec.set_max_players(players);
  text_value.clear();
  root.String("game_mode", &text_value);
  spec.set_game_mode(text_value);

  YAML::Node cvars = root.Map("cvars");
  if (cvars.IsDefined() && cvars.IsMap()) {
    for (const auto& entry : cvars) {
      if (!entry.second.IsScalar()) {
        root.Fail(root.Child("cvars." + entry.first.Scalar()), "expected a value");
        break;
      }
      agent::v1::Cvar* cvar = spec.add_cvars();
      cvar->set_name(entry.first.Scalar());
      cvar->set_value(entry.second.Scalar());
    }
  }
  YAML::Node arguments = root.Map("launch_arguments");
  if (arguments.IsDefined() && arguments.IsMap()) {
    for (const auto& entry : arguments) {
      agent::v1::LaunchArgument* argument = spec.add_launch_arguments();
      argument->set_name(entry.first.Scalar());
      argument->set_value(entry.second.IsScalar() ? entry.second.Scalar() : "");
    }
  }
  std::vector<std::string> overlays;
  root.StringList("overlays", &overlays);
  std::vector<std::string> exec_cfg;
  root.StringList("exec_overlay_cfg", &exec_cfg);
  for (const std::string& ref : overlays) {
    agent::v1::OverlayLayer* layer = spec.add_overlays();
    layer->set_ref(ref);
    layer->set_exec_server_cfg(std::find(exec_cfg.begin(), exec_cfg.end(), ref) != exec_cfg.end());
  }
  YamlMapReader resources(root.Map("resources"), root.Child("resources"));
  int64_t memory_high = 0;
  int64_t memory_max = 0;
  int cpu_weight = 0;
  int tasks_max = 0;
  std::string cpu_set;
  resources.Int("memory_high_mb", &memory_high, 0, 1 << 20);
  resources.Int("memory_max_mb", &memory_max, 0, 1 << 20);
  resources.Int("cpu_weight", &cpu_weight, 0, 10000);
  resources.String("cpu_set", &cpu_set);
  resources.Int("tasks_max", &tasks_max, 0, 100000);
  L4D2_RETURN_IF_ERROR(resources.Finish());
  spec.mutable_resources()->set_memory_high_bytes(static_cast<uint64_t>(memory_high) << 20);
  spec.mutable_resources()->set_memory_max_bytes(static_cast<uint64_t>(memory_max) << 20);
  spec.mutable_resources()->set_cpu_weight(cpu_weight);
  spec.mutable_resources()->set_cpu_set(cpu_set);
  spec.mutable_resources()->set_tasks_max(tasks_max);

  YamlMapReader restart(root.Map("restart"), root.Child("restart"));
  std::string mode;
  absl::Duration delay = absl::ZeroDuration();
  absl::Duration interval = absl::ZeroDuration();
  int burst = 0;
  restart.String("mode", &mode);
  restart.Duration("delay", &delay);
  restart.Int("burst", &burst, 0, 1000);
  restart.Duration("interval", &interval);
  if (mode == "on-failure") {
    spec.mutable_restart()->set_mode(agent::v1::RestartPolicy::MODE_ON_FAILURE);
  } else if (mode == "never") {
    spec.mutable_restart()->set_mode(agent::v1::RestartPolicy::MODE_NEVER);
  } else if (mode == "always") {
    spec.mutable_restart()->set_mode(agent::v1::RestartPolicy::MODE_ALWAYS);
  } else if (!mode.empty()) {
    restart.Fail("mode", "expected on-failure, never or always");
  }
  L4D2_RETURN_IF_ERROR(restart.Finish());
  if (delay > absl::ZeroDuration()) {
    spec.mutable_restart()->mutable_delay()->set_seconds(absl::ToInt64Seconds(delay));
  }
  if (interval > absl::ZeroDuration()) {
    spec.mutable_restart()->mutable_interval()->set_seconds(absl::ToInt64Seconds(interval));
  }
  spec.mutable_restart()->set_burst(burst);
  L4D2_RETURN_IF_ERROR(root.Finish());
  return spec;
}

absl::StatusOr<agent::v1::InstanceSpec> LoadInstanceSpecFile(const std::string& path) {
  L4D2_ASSIGN_OR_RETURN(std::string text, ReadFileToString(path, 256 * 1024 + 1));
  return ParseInstanceSpecYaml(text, absl::StrCat("spec '", path, "'"));
}

}  // namespace l4d2::ctl
