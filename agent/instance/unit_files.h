#pragma once

// The systemd units of instances: the template left4me-server@.service (written by the agent at
// start from its configuration; deploy/systemd/left4me-server@.service is the same file for the
// default production configuration) and one drop-in per instance with its restart policy and
// resource limits. Pure functions.

#include <string>

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
  // The user the game runs as; empty keeps the manager's (development user managers).
  std::string user = "left4me";
  // The sandboxing of facts "Hardening of the server unit" (off only where the manager
  // cannot apply it, e.g. a user manager in a test sandbox).
  bool hardening = true;
  // SocketBindAllow= range for the game.
  int port_first = 27015;
  int port_last = 27999;
};

std::string RenderUnitTemplate(const UnitTemplateOptions& options);

// left4me-server@<name>.service.d/50-instance.conf for `spec` (with defaults applied); empty
// when the spec asks for nothing the template does not already do (no drop-in, no reload).
std::string RenderInstanceDropIn(const v1::InstanceSpec& spec);

// "<prefix>@<instance>.service".
inline std::string UnitName(const std::string& prefix, const std::string& instance) {
  return prefix + "@" + instance + ".service";
}

}  // namespace l4d2::agent
