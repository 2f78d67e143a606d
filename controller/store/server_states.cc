#include "controller/store/server_states.h"

#include <array>
#include <utility>

namespace l4d2::controller {
namespace {

constexpr std::array<std::pair<ServerState, absl::string_view>, 9> kServerStates = {{
    {ServerState::kUnknown, ""},
    {ServerState::kStopped, "stopped"},
    {ServerState::kStarting, "starting"},
    {ServerState::kRunning, "running"},
    {ServerState::kStopping, "stopping"},
    {ServerState::kCrashed, "crashed"},
    {ServerState::kCrashLoop, "crash_loop"},
    {ServerState::kHung, "hung"},
    {ServerState::kMissing, "missing"},
}};

}  // namespace

std::string DesiredStateName(DesiredState state) {
  return state == DesiredState::kRunning ? "running" : "stopped";
}

std::optional<DesiredState> ParseDesiredState(absl::string_view name) {
  if (name == "running") return DesiredState::kRunning;
  if (name == "stopped") return DesiredState::kStopped;
  return std::nullopt;
}

std::string ServerStateName(ServerState state) {
  for (const auto& [value, name] : kServerStates) {
    if (value == state) return std::string(name);
  }
  return "";
}

std::optional<ServerState> ParseServerState(absl::string_view name) {
  for (const auto& [value, known] : kServerStates) {
    if (known == name) return value;
  }
  return std::nullopt;
}

std::ostream& operator<<(std::ostream& out, DesiredState state) {
  return out << DesiredStateName(state);
}

std::ostream& operator<<(std::ostream& out, ServerState state) {
  return out << (state == ServerState::kUnknown ? "(unknown)" : ServerStateName(state));
}

ServerState FromInstanceState(agent::v1::InstanceState state) {
  switch (state) {
    case agent::v1::INSTANCE_STATE_STOPPED:
      return ServerState::kStopped;
    case agent::v1::INSTANCE_STATE_STARTING:
      return ServerState::kStarting;
    case agent::v1::INSTANCE_STATE_RUNNING:
      return ServerState::kRunning;
    case agent::v1::INSTANCE_STATE_STOPPING:
      return ServerState::kStopping;
    case agent::v1::INSTANCE_STATE_CRASHED:
      return ServerState::kCrashed;
    case agent::v1::INSTANCE_STATE_CRASH_LOOP:
      return ServerState::kCrashLoop;
    case agent::v1::INSTANCE_STATE_HUNG:
      return ServerState::kHung;
    default:
      return ServerState::kUnknown;
  }
}

}  // namespace l4d2::controller
