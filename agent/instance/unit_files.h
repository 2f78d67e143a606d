#pragma once

// The systemd units of instances: the template left4me-server@.service (written by the agent at
// start from its configuration; deploy/systemd/left4me-server@.service is the same file for the
// default production configuration) and one drop-in per instance with its restart policy and
// resource limits. Pure functions.

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "l4d2/agent/v1/instance.pb.h"

namespace l4d2::agent {

struct UnitTemplateOptions {
  // The template is <unit_prefix>@.service and instance units <unit_prefix>@<name>.service: a
  // prefix per agent lets several agents share one service manager (tests, a staging root).
  std::string unit_prefix = "left4me-server";
  // LEFT4ME_ROOT.
  std::string root = "/var/lib/left4me";
  // How systemd runs the overlay helper: the program, prefixed for production with
  // "+/usr/bin/nsenter --mount=/proc/1/ns/mnt --" (privileged, in PID 1's mount namespace, so
  // that the unit's own namespace is never pinned and stop never hits EBUSY).
  std::string helper_command =
      "+/usr/bin/nsenter --mount=/proc/1/ns/mnt -- /usr/local/libexec/left4me/left4me-overlay";
  // The game's main process: left4me-console, which runs srcds_run and writes its console to
  // the journal in entries of whole lines (agent/console/console_forwarder.h).
  std::string console_command = "/usr/local/libexec/left4me/left4me-console";
  // The sandboxing of facts "Hardening of the server unit" (off only where the manager
  // cannot apply it). Each server's own account (User=) is in its drop-in.
  bool hardening = true;
  // Paths no game server may see (InaccessiblePaths=, with hardening): the agent's socket.
  // The root's own directories other than runtime/ are always added; a server reaches its
  // layers only through its own mount.
  std::vector<std::string> hidden_paths;
  // Every server's limits unless its spec sets them (0: none): a runaway server cannot take
  // the host's memory, tasks or every core.
  uint64_t memory_high_bytes = uint64_t{1536} << 20;
  uint64_t memory_max_bytes = uint64_t{2048} << 20;
  uint32_t tasks_max = 256;
  uint32_t cpu_quota_percent = 0;
  // The slices (RenderSlices): servers run in <slice>-servers.slice; empty: the manager's
  // default slice.
  std::string slice = "left4me";
  // The CPUs servers and scripts run on ("1-7"; agent/host/cpu_list.h), the others being kept
  // for the host's own system; empty: every CPU. Set as AllowedCPUs= on <slice>.slice (cgroup
  // v2's cpuset) and as CPUAffinity= on the units, which holds on any cgroup layout.
  std::string cpus;
  int nice = 0;  // Nice= of the servers
  // SocketBindAllow= range for the game.
  int port_first = 27015;
  int port_last = 27999;
};

std::string RenderUnitTemplate(const UnitTemplateOptions& options);

// The slice units the agent writes beside the template, by file name: <slice>.slice (the
// CPUs, AllowedCPUs=), <slice>-servers.slice (the game servers), <slice>-work.slice (overlay
// scripts: a fifth of the servers' CPU and IO weight, so a build never slows a game). None
// when options.slice is empty.
std::vector<std::pair<std::string, std::string>> RenderSlices(const UnitTemplateOptions& options);

// The slice build work runs in ("" without slices).
std::string WorkSlice(const UnitTemplateOptions& options);

// left4me-server@<name>.service.d/50-instance.conf for `spec` (with defaults applied), run as
// `account` (empty: the manager's user); empty when there is no account and the spec asks
// for nothing the template does not already do (no drop-in, no reload).
std::string RenderInstanceDropIn(const v1::InstanceSpec& spec, const std::string& account);

// "<prefix>@<instance>.service".
inline std::string UnitName(const std::string& prefix, const std::string& instance) {
  return prefix + "@" + instance + ".service";
}

}  // namespace l4d2::agent
