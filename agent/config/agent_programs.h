#pragma once

// The programs an agent runs besides itself, as its config names them with the installed
// defaults filled in, and the start-up check that they are there: a missing helper refuses the
// agent's start with a message naming it, instead of showing up later as a crashed game server
// (systemd's status=203/EXEC) or a failed download.

#include <functional>
#include <string>

#include "absl/status/status.h"
#include "agent/config/agent_config.h"

namespace l4d2::agent {

struct AgentPrograms {
  // systemd's ExecStartPre/ExecStopPost command that mounts an instance's overlay stack; it may
  // start with systemd's exec prefixes ("+") and wrap the helper (nsenter, a sudo wrapper).
  std::string overlay_command;
  // The game unit's main process (left4me-console).
  std::string console_helper;
  // Downloads and archives (left4me-fetch).
  std::string fetch_helper;
};

// The config's helpers, with "" replaced by the installed defaults (docs/operations.md).
AgentPrograms ResolvePrograms(const AgentConfig& config);

// Checks that every program in `programs` that must be there is executable: the overlay
// command's program and, when it wraps another one, its last word (the helper that gets the
// instance's arguments), the console and the fetch helpers. `executable` answers for an
// absolute path (access(X_OK) in production). FAILED_PRECONDITION naming the config key, the
// path and what to do; OK otherwise.
absl::Status CheckPrograms(const AgentPrograms& programs,
                           const std::function<bool(const std::string&)>& executable);

}  // namespace l4d2::agent
