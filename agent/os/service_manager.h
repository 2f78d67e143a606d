#pragma once

// OS capability: the systemd service manager, narrowed to what the agent needs for its
// left4me-server@<name>.service units: start, stop, reset a failed state, read state, list.
//
// The agent never mounts or forks game servers itself; systemd does. In production the
// implementation reaches the system manager through a fixed-verb privileged path (a sudo
// helper or polkit rule for left4me-server@*.service); in development and CI a user manager.
//
// Errors: FAILED_PRECONDITION when systemd refuses or the unit fails to start (systemd's own
// message), UNAVAILABLE when the manager does not answer, INVALID_ARGUMENT for a unit name
// outside the allowed pattern.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace l4d2::agent {

// The unit properties the agent reads (names as in `systemctl show`).
struct UnitFacts {
  // LoadState: "loaded", "not-found", ...; "not-loaded" when the manager has not loaded the
  // unit (it is then inactive; reading facts does not make it load).
  std::string load_state;
  std::string active_state;  // ActiveState: "active", "inactive", "failed", "activating", ...
  std::string sub_state;     // SubState: "running", "dead", "failed", "auto-restart", ...
  std::string result;        // Result: "success", "exit-code", "signal", "start-limit-hit", ...
  int main_pid = 0;          // MainPID
  std::optional<absl::Time> active_since;   // ActiveEnterTimestamp, when active
  uint32_t restarts = 0;                    // NRestarts
  std::optional<uint64_t> memory_bytes;     // MemoryCurrent, when accounted
  std::optional<absl::Duration> cpu_usage;  // CPUUsageNSec, when accounted
  int exec_main_status = 0;                 // ExecMainStatus
};

// One row of `systemctl list-units`.
struct UnitListing {
  std::string name;
  std::string active_state;
  std::string sub_state;
};

// Parses `systemctl list-units --all --plain --no-legend` ("UNIT LOAD ACTIVE SUB DESCRIPTION").
std::vector<UnitListing> ParseSystemctlListUnits(absl::string_view text);

// Unit names and patterns as the agent uses them ("left4me-server@s1.service",
// "left4me-server@*.service"): letters, digits and @ . _ - * :, not starting with '-', at most
// 256 bytes, so that they can reach a command line or a D-Bus call safely. INVALID_ARGUMENT.
absl::Status ValidateUnitName(const std::string& unit);

// The properties ParseSystemctlShow understands, for `systemctl show -p ...`.
inline constexpr absl::string_view kUnitFactProperties =
    "LoadState,ActiveState,SubState,Result,MainPID,ActiveEnterTimestamp,NRestarts,"
    "MemoryCurrent,CPUUsageNSec,ExecMainStatus";

// Parses `systemctl show --timestamp=unix -p <kUnitFactProperties> UNIT` output
// ("Key=Value" lines). Unknown keys are ignored; malformed numbers are INVALID_ARGUMENT.
absl::StatusOr<UnitFacts> ParseSystemctlShow(absl::string_view text);

class ServiceManager {
 public:
  virtual ~ServiceManager() = default;

  // Starts the unit and waits for the start job: OK once it is active (or, for units that
  // exit, has run).
  virtual absl::Status Start(const std::string& unit) = 0;
  // Stops the unit and waits until it is inactive or failed. Stopping a stopped unit is OK.
  virtual absl::Status Stop(const std::string& unit) = 0;
  // Sends `signal` to every process of the unit (systemd's KillUnit, whom "all"): SIGSTOP and
  // SIGCONT pause a server while its writable layer is snapshotted (agent/backup). A unit that
  // is not running has nothing to signal: OK.
  virtual absl::Status Signal(const std::string& unit, int signal) = 0;
  // Clears a failed state and the start-limit counter.
  virtual absl::Status ResetFailed(const std::string& unit) = 0;
  virtual absl::StatusOr<UnitFacts> Facts(const std::string& unit) = 0;
  // Facts of many units, per unit in order: what an agent's report reads of every instance. An
  // implementation that can ask for all at once overrides it; by default, one after another.
  virtual std::vector<absl::StatusOr<UnitFacts>> FactsOfAll(const std::vector<std::string>& units) {
    std::vector<absl::StatusOr<UnitFacts>> facts;
    facts.reserve(units.size());
    for (const std::string& unit : units) facts.push_back(Facts(unit));
    return facts;
  }
  // Reloads unit files after they were written or removed (daemon-reload).
  virtual absl::Status Reload() = 0;
  // Loaded units matching a glob such as "left4me-server@*.service", with their state.
  virtual absl::StatusOr<std::vector<UnitListing>> ListUnits(const std::string& pattern) = 0;
};

}  // namespace l4d2::agent
