#include "spec/spec.h"

#include <map>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/names.h"
#include "common/status_macros.h"

namespace l4d2::spec {
namespace {

enum class ValueType { kBool, kInt, kFloat, kText, kToken };

struct Allowed {
  ValueType type;
  double min = 0;
  double max = 0;
};

// server.cfg settings an operator may set. rcon_password, hostname and mp_gamemode are set by
// the agent from the spec and are not in this list.
const std::map<std::string, Allowed>& AllowedCvars() {
  static const auto* cvars = new std::map<std::string, Allowed>{
      {"sv_password", {ValueType::kText}},
      {"sv_steamgroup", {ValueType::kToken}},
      {"sv_steamgroup_exclusive", {ValueType::kBool}},
      {"sv_allow_lobby_connect_only", {ValueType::kBool}},
      {"sv_gametypes", {ValueType::kToken}},
      {"sv_region", {ValueType::kInt, -1, 255}},
      {"sv_search_key", {ValueType::kToken}},
      {"sv_tags", {ValueType::kToken}},
      {"sv_lan", {ValueType::kBool}},
      {"sv_pure", {ValueType::kInt, -1, 2}},
      {"sv_consistency", {ValueType::kBool}},
      {"sv_alltalk", {ValueType::kBool}},
      {"sv_voiceenable", {ValueType::kBool}},
      {"sv_hibernate_when_empty", {ValueType::kBool}},
      {"sv_visiblemaxplayers", {ValueType::kInt, -1, 32}},
      {"sv_minrate", {ValueType::kInt, 0, 1000000}},
      {"sv_maxrate", {ValueType::kInt, 0, 1000000}},
      {"sv_mincmdrate", {ValueType::kInt, 0, 1000}},
      {"sv_maxcmdrate", {ValueType::kInt, 0, 1000}},
      {"sv_minupdaterate", {ValueType::kInt, 0, 1000}},
      {"sv_maxupdaterate", {ValueType::kInt, 0, 1000}},
      {"sv_client_min_interp_ratio", {ValueType::kFloat, -1, 10}},
      {"sv_client_max_interp_ratio", {ValueType::kFloat, -1, 10}},
      {"net_splitpacket_maxrate", {ValueType::kInt, 0, 1000000}},
      {"fps_max", {ValueType::kInt, 0, 10000}},
      {"z_difficulty", {ValueType::kToken}},
      {"motd_enabled", {ValueType::kBool}},
      {"sb_all_bot_game", {ValueType::kBool}},
      {"director_no_specials", {ValueType::kBool}},
      {"sv_log_onefile", {ValueType::kBool}},
      {"sv_logbans", {ValueType::kBool}},
      {"sv_logecho", {ValueType::kBool}},
      {"log", {ValueType::kToken}},
      {"decalfrequency", {ValueType::kInt, 0, 3600}},
      {"mp_disable_autokick", {ValueType::kBool}},
      {"sv_cheats", {ValueType::kBool}},
  };
  return *cvars;
}

// Extra srcds arguments: name -> value type (kBool here means "a flag without value").
const std::map<std::string, Allowed>& AllowedArguments() {
  static const auto* arguments = new std::map<std::string, Allowed>{
      {"-tickrate", {ValueType::kInt, 10, 128}},
      {"-nohltv", {ValueType::kBool}},
      {"-insecure", {ValueType::kBool}},
      {"-nobots", {ValueType::kBool}},
      {"-timeout", {ValueType::kInt, 1, 3600}},
      {"+tv_port", {ValueType::kInt, 1024, 65535}},
      {"+clientport", {ValueType::kInt, 1024, 65535}},
      {"+sv_lan", {ValueType::kInt, 0, 1}},
  };
  return *arguments;
}

bool IsToken(absl::string_view value) {
  if (value.empty() || value.size() > 128) return false;
  for (char c : value) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-' && c != '.' &&
        c != ',' && c != ':') {
      return false;
    }
  }
  return value[0] != '-' && value[0] != '+';
}

// Text a player sees: printable, no quote, no ';', no backslash; at most `max` bytes.
absl::Status CheckText(absl::string_view field, absl::string_view value, size_t max) {
  if (value.size() > max) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": longer than ", max, " bytes"));
  }
  for (unsigned char c : value) {
    if (c < 0x20 || c == 0x7f || c == '"' || c == ';' || c == '\\') {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ": control characters, '\"', ';' and '\\\\' are not allowed"));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckValue(absl::string_view field, const Allowed& allowed, absl::string_view value) {
  switch (allowed.type) {
    case ValueType::kBool:
      if (value == "0" || value == "1") return absl::OkStatus();
      return absl::InvalidArgumentError(absl::StrCat(field, ": expected 0 or 1"));
    case ValueType::kInt: {
      int64_t number = 0;
      if (absl::SimpleAtoi(value, &number) && number >= allowed.min && number <= allowed.max &&
          value.find_first_not_of("-0123456789") == absl::string_view::npos) {
        return absl::OkStatus();
      }
      return absl::InvalidArgumentError(
          absl::StrCat(field, ": expected an integer from ", allowed.min, " to ", allowed.max));
    }
    case ValueType::kFloat: {
      double number = 0;
      if (absl::SimpleAtod(value, &number) && number >= allowed.min && number <= allowed.max &&
          value.find_first_not_of("-.0123456789") == absl::string_view::npos) {
        return absl::OkStatus();
      }
      return absl::InvalidArgumentError(
          absl::StrCat(field, ": expected a number from ", allowed.min, " to ", allowed.max));
    }
    case ValueType::kText:
      return CheckText(field, value, 64);
    case ValueType::kToken:
      if (IsToken(value)) return absl::OkStatus();
      return absl::InvalidArgumentError(
          absl::StrCat(field, ": expected a word of letters, digits and _ - . , :"));
  }
  return absl::InternalError("unknown value type");
}

bool IsMapOrMode(absl::string_view value) {
  if (value.empty() || value.size() > 64) return false;
  for (char c : value) {
    if (!absl::ascii_islower(static_cast<unsigned char>(c)) &&
        !absl::ascii_isdigit(static_cast<unsigned char>(c)) && c != '_') {
      return false;
    }
  }
  return true;
}

}  // namespace

v1::InstanceSpec WithDefaults(const std::string& name, v1::InstanceSpec spec) {
  if (spec.hostname().empty()) spec.set_hostname(absl::StrCat("left4me ", name));
  if (spec.start_map().empty()) spec.set_start_map("c1m1_hotel");
  if (spec.max_players() == 0) spec.set_max_players(8);
  if (spec.game_mode().empty()) spec.set_game_mode("coop");
  v1::RestartPolicy* restart = spec.mutable_restart();
  if (restart->mode() == v1::RestartPolicy::MODE_UNSPECIFIED) {
    restart->set_mode(v1::RestartPolicy::MODE_ON_FAILURE);
  }
  if (!restart->has_delay()) restart->mutable_delay()->set_seconds(5);
  if (restart->burst() == 0) restart->set_burst(5);
  if (!restart->has_interval()) restart->mutable_interval()->set_seconds(300);
  if (!restart->has_hang_grace()) restart->mutable_hang_grace()->set_seconds(120);
  return spec;
}

namespace {

absl::Status CheckGameSettings(const v1::InstanceSpec& spec, const SpecLimits& limits) {
  if (spec.port() < limits.port_first || spec.port() > limits.port_last) {
    return absl::InvalidArgumentError(absl::StrCat("spec.port: ", spec.port(),
                                                   " is outside this host's range ",
                                                   limits.port_first, "-", limits.port_last));
  }
  L4D2_RETURN_IF_ERROR(CheckText("spec.hostname", spec.hostname(), 64));
  if (spec.hostname().empty()) return absl::InvalidArgumentError("spec.hostname: empty");
  if (!IsMapOrMode(spec.start_map())) {
    return absl::InvalidArgumentError("spec.start_map: expected a map name such as c1m1_hotel");
  }
  if (spec.max_players() < 1 || spec.max_players() > 32) {
    return absl::InvalidArgumentError("spec.max_players: expected 1 to 32");
  }
  if (!IsMapOrMode(spec.game_mode())) {
    return absl::InvalidArgumentError("spec.game_mode: expected a mode such as coop or versus");
  }
  return absl::OkStatus();
}

absl::Status CheckCvars(const v1::InstanceSpec& spec) {
  std::set<std::string> seen;
  for (int i = 0; i < spec.cvars_size(); ++i) {
    const v1::Cvar& cvar = spec.cvars(i);
    std::string field = absl::StrCat("spec.cvars[", i, "] '", cvar.name().substr(0, 40), "'");
    auto allowed = AllowedCvars().find(cvar.name());
    if (allowed == AllowedCvars().end()) {
      return absl::InvalidArgumentError(absl::StrCat(field, ": not an allowed setting"));
    }
    if (!seen.insert(cvar.name()).second) {
      return absl::InvalidArgumentError(absl::StrCat(field, ": set twice"));
    }
    L4D2_RETURN_IF_ERROR(CheckValue(field, allowed->second, cvar.value()));
  }
  return absl::OkStatus();
}

absl::Status CheckLaunchArguments(const v1::InstanceSpec& spec) {
  std::set<std::string> seen;
  for (int i = 0; i < spec.launch_arguments_size(); ++i) {
    const v1::LaunchArgument& argument = spec.launch_arguments(i);
    std::string field =
        absl::StrCat("spec.launch_arguments[", i, "] '", argument.name().substr(0, 40), "'");
    auto allowed = AllowedArguments().find(argument.name());
    if (allowed == AllowedArguments().end()) {
      return absl::InvalidArgumentError(absl::StrCat(field, ": not an allowed argument"));
    }
    if (!seen.insert(argument.name()).second) {
      return absl::InvalidArgumentError(absl::StrCat(field, ": given twice"));
    }
    if (allowed->second.type == ValueType::kBool) {
      if (!argument.value().empty()) {
        return absl::InvalidArgumentError(absl::StrCat(field, ": takes no value"));
      }
    } else {
      L4D2_RETURN_IF_ERROR(CheckValue(field, allowed->second, argument.value()));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckOverlays(const v1::InstanceSpec& spec, const SpecLimits& limits) {
  if (spec.overlays_size() > limits.max_overlays) {
    return absl::InvalidArgumentError(
        absl::StrCat("spec.overlays: at most ", limits.max_overlays, " layers"));
  }
  std::set<std::string> seen;
  for (int i = 0; i < spec.overlays_size(); ++i) {
    absl::Status valid = ValidateOverlayRef(spec.overlays(i).ref());
    if (!valid.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("spec.overlays[", i, "]: ", valid.message()));
    }
    if (!seen.insert(spec.overlays(i).ref()).second) {
      return absl::InvalidArgumentError(absl::StrCat("spec.overlays[", i, "]: listed twice"));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckResourcesAndRestart(const v1::InstanceSpec& spec) {
  const v1::ResourceLimits& resources = spec.resources();
  if (resources.memory_high_bytes() != 0 && resources.memory_max_bytes() != 0 &&
      resources.memory_high_bytes() > resources.memory_max_bytes()) {
    return absl::InvalidArgumentError("spec.resources: memory_high above memory_max");
  }
  if (resources.cpu_weight() > 10000) {
    return absl::InvalidArgumentError("spec.resources.cpu_weight: expected 1 to 10000");
  }
  if (resources.cpu_set().size() > 64 ||
      resources.cpu_set().find_first_not_of("0123456789,-") != std::string::npos) {
    return absl::InvalidArgumentError("spec.resources.cpu_set: expected a list such as 2-3,6");
  }
  if (resources.tasks_max() > 100000) {
    return absl::InvalidArgumentError("spec.resources.tasks_max: at most 100000");
  }
  const v1::RestartPolicy& restart = spec.restart();
  if (restart.delay().seconds() < 0 || restart.delay().seconds() > 3600 ||
      restart.interval().seconds() < 0 || restart.interval().seconds() > 86400 ||
      restart.burst() > 1000) {
    return absl::InvalidArgumentError(
        "spec.restart: delay up to 1h, interval up to 24h, burst up to 1000");
  }
  const int64_t hang_grace = restart.hang_grace().seconds();
  if (hang_grace != 0 && (hang_grace < 10 || hang_grace > 3600)) {
    return absl::InvalidArgumentError(
        "spec.restart.hang_grace: 0s (no hang detection) or 10s to 1h");
  }
  return absl::OkStatus();
}

}  // namespace

// The first error in field order, as the checks above run.
absl::Status ValidateSpec(const v1::InstanceSpec& spec, const SpecLimits& limits) {
  L4D2_RETURN_IF_ERROR(CheckGameSettings(spec, limits));
  L4D2_RETURN_IF_ERROR(CheckCvars(spec));
  L4D2_RETURN_IF_ERROR(CheckLaunchArguments(spec));
  L4D2_RETURN_IF_ERROR(CheckOverlays(spec, limits));
  return CheckResourcesAndRestart(spec);
}

std::string OverlayCfgName(const std::string& ref) {
  std::string name = ref;
  for (char& c : name) {
    if (c == '/' || c == '.') c = '_';
  }
  return absl::StrCat("server_", name, ".cfg");
}

std::string RenderServerCfg(const ServerCfgInput& input) {
  const v1::InstanceSpec& spec = input.spec;
  std::string cfg =
      absl::StrCat("// Written by l4d2-agent for instance '", input.name,
                   "'. Replaced at every initialize: change the spec, not this file.\n",
                   "hostname \"", spec.hostname(), "\"\n", "rcon_password \"", input.rcon_password,
                   "\"\n", "mp_gamemode \"", spec.game_mode(), "\"\n");
  for (const v1::Cvar& cvar : spec.cvars()) {
    absl::StrAppend(&cfg, cvar.name(), " \"", cvar.value(), "\"\n");
  }
  for (const std::string& file : input.exec_files) absl::StrAppend(&cfg, "exec ", file, "\n");
  if (!input.log_address.empty()) {
    absl::StrAppend(&cfg,
                    "// The agent's game log listener (players, maps, update requests).\n"
                    "log on\n"
                    "sv_logsecret \"",
                    input.log_secret, "\"\nlogaddress_add ", input.log_address, "\n");
  }
  return cfg;
}

std::vector<std::string> LaunchArguments(const v1::InstanceSpec& spec, const std::string& ip) {
  std::vector<std::string> args = {"-game",
                                   "left4dead2",
                                   "-port",
                                   std::to_string(spec.port()),
                                   "+ip",
                                   ip,
                                   "-strictportbind",
                                   "-norestart",
                                   "-maxplayers",
                                   std::to_string(spec.max_players()),
                                   "+servercfgfile",
                                   "server.cfg",
                                   "+map",
                                   spec.start_map()};
  for (const v1::LaunchArgument& argument : spec.launch_arguments()) {
    args.push_back(argument.name());
    if (!argument.value().empty()) args.push_back(argument.value());
  }
  return args;
}

}  // namespace l4d2::spec
