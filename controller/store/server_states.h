#pragma once

// A server's states as the controller keeps them: what an operator asked for (desired) and what
// its host last said (actual). Typed here; the database and the API carry their names.

#include <optional>
#include <ostream>
#include <string>

#include "absl/strings/string_view.h"
#include "l4d2/agent/v1/instance.pb.h"

namespace l4d2::controller {

enum class DesiredState { kRunning, kStopped };

enum class ServerState {
  kUnknown,  // never observed yet (its name is "")
  // The agent's instance states (l4d2.agent.v1.InstanceState).
  kStopped,
  kStarting,
  kRunning,
  kStopping,
  kCrashed,
  kCrashLoop,
  kHung,  // running, answered A2S, then stopped answering for the spec's hang grace
  // Its host reported and the instance was not among its instances.
  kMissing,
};

// "running", "stopped".
std::string DesiredStateName(DesiredState state);
// nullopt for any other name.
std::optional<DesiredState> ParseDesiredState(absl::string_view name);

// "", "stopped", "starting", "running", "stopping", "crashed", "crash_loop", "missing".
std::string ServerStateName(ServerState state);
// nullopt for any other name.
std::optional<ServerState> ParseServerState(absl::string_view name);

// Their names, for logs and test failures.
std::ostream& operator<<(std::ostream& out, DesiredState state);
std::ostream& operator<<(std::ostream& out, ServerState state);

// The agent's state of an instance (UNSPECIFIED: kUnknown).
ServerState FromInstanceState(agent::v1::InstanceState state);

}  // namespace l4d2::controller
