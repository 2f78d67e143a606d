#include "spec/spec_yaml.h"

#include "absl/strings/str_cat.h"
#include "common/file_util.h"
#include "common/status_macros.h"
#include "common/yaml_document.h"

namespace l4d2::spec {

namespace {

// The spec's keys; an instance's needs a port, a blueprint's has a name and no port (the
// controller picks it).
absl::StatusOr<agent::v1::InstanceSpec> ParseSpec(const std::string& text, const std::string& what,
                                                  std::string* blueprint_name) {
  L4D2_ASSIGN_OR_RETURN(YAML::Node document,
                        ParseYamlDocument(text, what, YamlLimits{.max_bytes = 256 * 1024}));
  agent::v1::InstanceSpec spec;
  YamlMapReader root(document, "");
  if (blueprint_name != nullptr) {
    root.String("name", blueprint_name, /*required=*/true);
  } else {
    int port = 0;
    root.Int("port", &port, 1, 65535, /*required=*/true);
    spec.set_port(port);
  }
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
  absl::Duration hang_grace = -absl::Seconds(1);  // below zero: not given
  bool restart_when_hung = false;
  restart.String("mode", &mode);
  restart.Duration("delay", &delay);
  restart.Int("burst", &burst, 0, 1000);
  restart.Duration("interval", &interval);
  restart.Duration("hang_grace", &hang_grace);
  restart.Bool("restart_when_hung", &restart_when_hung);
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
  if (hang_grace >= absl::ZeroDuration()) {
    spec.mutable_restart()->mutable_hang_grace()->set_seconds(absl::ToInt64Seconds(hang_grace));
  }
  spec.mutable_restart()->set_restart_when_hung(restart_when_hung);
  L4D2_RETURN_IF_ERROR(root.Finish());
  return spec;
}

}  // namespace

absl::StatusOr<agent::v1::InstanceSpec> ParseInstanceSpecYaml(const std::string& text,
                                                              const std::string& what) {
  return ParseSpec(text, what, nullptr);
}

absl::StatusOr<BlueprintYaml> ParseBlueprintYaml(const std::string& text, const std::string& what) {
  BlueprintYaml blueprint;
  L4D2_ASSIGN_OR_RETURN(blueprint.settings, ParseSpec(text, what, &blueprint.name));
  for (const agent::v1::OverlayLayer& layer : blueprint.settings.overlays()) {
    blueprint.overlays.push_back(layer);
  }
  blueprint.settings.clear_overlays();
  return blueprint;
}

std::string BlueprintToYaml(const std::string& name, const agent::v1::InstanceSpec& settings,
                            const std::vector<agent::v1::OverlayLayer>& overlays) {
  YAML::Emitter out;
  out << YAML::BeginMap << YAML::Key << "name" << YAML::Value << name;
  if (!settings.hostname().empty())
    out << YAML::Key << "hostname" << YAML::Value << settings.hostname();
  if (!settings.start_map().empty())
    out << YAML::Key << "map" << YAML::Value << settings.start_map();
  if (settings.max_players() != 0) {
    out << YAML::Key << "max_players" << YAML::Value << settings.max_players();
  }
  if (!settings.game_mode().empty()) {
    out << YAML::Key << "game_mode" << YAML::Value << settings.game_mode();
  }
  if (settings.cvars_size() > 0) {
    out << YAML::Key << "cvars" << YAML::Value << YAML::BeginMap;
    for (const agent::v1::Cvar& cvar : settings.cvars()) {
      out << YAML::Key << cvar.name() << YAML::Value << YAML::DoubleQuoted << cvar.value();
    }
    out << YAML::EndMap;
  }
  if (settings.launch_arguments_size() > 0) {
    out << YAML::Key << "launch_arguments" << YAML::Value << YAML::BeginMap;
    for (const agent::v1::LaunchArgument& argument : settings.launch_arguments()) {
      out << YAML::Key << argument.name() << YAML::Value << YAML::DoubleQuoted << argument.value();
    }
    out << YAML::EndMap;
  }
  if (!overlays.empty()) {
    out << YAML::Key << "overlays" << YAML::Value << YAML::BeginSeq;
    for (const agent::v1::OverlayLayer& layer : overlays) out << layer.ref();
    out << YAML::EndSeq;
    std::vector<std::string> exec;
    for (const agent::v1::OverlayLayer& layer : overlays) {
      if (layer.exec_server_cfg()) exec.push_back(layer.ref());
    }
    if (!exec.empty()) out << YAML::Key << "exec_overlay_cfg" << YAML::Value << exec;
  }
  const agent::v1::ResourceLimits& limits = settings.resources();
  if (limits.ByteSizeLong() > 0) {
    out << YAML::Key << "resources" << YAML::Value << YAML::BeginMap;
    if (limits.memory_high_bytes()) {
      out << YAML::Key << "memory_high_mb" << YAML::Value << (limits.memory_high_bytes() >> 20);
    }
    if (limits.memory_max_bytes()) {
      out << YAML::Key << "memory_max_mb" << YAML::Value << (limits.memory_max_bytes() >> 20);
    }
    if (limits.cpu_weight()) out << YAML::Key << "cpu_weight" << YAML::Value << limits.cpu_weight();
    if (!limits.cpu_set().empty()) out << YAML::Key << "cpu_set" << YAML::Value << limits.cpu_set();
    if (limits.tasks_max()) out << YAML::Key << "tasks_max" << YAML::Value << limits.tasks_max();
    out << YAML::EndMap;
  }
  const agent::v1::RestartPolicy& restart = settings.restart();
  if (restart.ByteSizeLong() > 0) {
    out << YAML::Key << "restart" << YAML::Value << YAML::BeginMap;
    switch (restart.mode()) {
      case agent::v1::RestartPolicy::MODE_ON_FAILURE:
        out << YAML::Key << "mode" << YAML::Value << "on-failure";
        break;
      case agent::v1::RestartPolicy::MODE_NEVER:
        out << YAML::Key << "mode" << YAML::Value << "never";
        break;
      case agent::v1::RestartPolicy::MODE_ALWAYS:
        out << YAML::Key << "mode" << YAML::Value << "always";
        break;
      default:
        break;
    }
    if (restart.has_delay()) {
      out << YAML::Key << "delay" << YAML::Value << absl::StrCat(restart.delay().seconds(), "s");
    }
    if (restart.burst()) out << YAML::Key << "burst" << YAML::Value << restart.burst();
    if (restart.has_interval()) {
      out << YAML::Key << "interval" << YAML::Value
          << absl::StrCat(restart.interval().seconds(), "s");
    }
    if (restart.has_hang_grace()) {
      out << YAML::Key << "hang_grace" << YAML::Value
          << absl::StrCat(restart.hang_grace().seconds(), "s");
    }
    if (restart.restart_when_hung()) {
      out << YAML::Key << "restart_when_hung" << YAML::Value << true;
    }
    out << YAML::EndMap;
  }
  out << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

absl::StatusOr<agent::v1::InstanceSpec> LoadInstanceSpecFile(const std::string& path) {
  L4D2_ASSIGN_OR_RETURN(std::string text, ReadFileToString(path, 256 * 1024 + 1));
  return ParseInstanceSpecYaml(text, absl::StrCat("spec '", path, "'"));
}

}  // namespace l4d2::spec
