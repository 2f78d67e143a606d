#include "agent/instance/unit_files.h"

#include "absl/strings/str_cat.h"

namespace l4d2::agent {

std::string RenderUnitTemplate(const UnitTemplateOptions& o) {
  std::string unit = absl::StrCat(
      "# ", o.unit_prefix,
      "@.service: one Left 4 Dead 2 server, written by l4d2-agent.\n"
      "# Per-instance settings are in ",
      o.unit_prefix,
      "@<name>.service.d/50-instance.conf.\n"
      "[Unit]\n"
      "Description=left4me Left 4 Dead 2 server %i\n"
      "After=network-online.target\n"
      "Wants=network-online.target\n"
      // The default restart policy of a spec; drop-ins override it per instance.
      "StartLimitIntervalSec=300s\n"
      "StartLimitBurst=5\n"
      "\n"
      "[Service]\n"
      "Type=simple\n"
      "Restart=on-failure\n"
      "RestartSec=5s\n"
      "EnvironmentFile=",
      o.root, "/instances/%i/unit.env\n", "ExecStartPre=", o.helper_command, " --root ", o.root,
      " mount %i\n",
      // Not merged/: every Exec* runs there, and ExecStopPost would pin the mount it removes.
      // srcds_run changes into its own directory.
      "WorkingDirectory=", o.root, "/runtime/%i\n",
      // srcds_run without -norestart restarts crashes itself and hides them from systemd.
      // left4me-console ends as srcds_run does; the stop signal reaches the game directly
      // (KillMode=control-group, the default).
      "ExecStart=", o.console_command, " -- ", o.root, "/runtime/%i/merged/srcds_run $L4D2_ARGS\n",
      "ExecStopPost=", o.helper_command, " --root ", o.root, " unmount %i\n",
      "KillSignal=SIGINT\n"
      "TimeoutStopSec=15s\n"
      // journald would drop a console flood past 10,000 lines per 30 s.
      "LogRateLimitIntervalSec=0\n"
      "MemoryAccounting=yes\n"
      "CPUAccounting=yes\n"
      // The agent and sshd outlive a runaway server.
      "OOMScoreAdjust=500\n");
  if (!o.slice.empty()) absl::StrAppend(&unit, "Slice=", o.slice, "-servers.slice\n");
  if (!o.cpus.empty()) absl::StrAppend(&unit, "CPUAffinity=", o.cpus, "\n");
  if (o.nice != 0) absl::StrAppend(&unit, "Nice=", o.nice, "\n");
  if (o.memory_high_bytes > 0) absl::StrAppend(&unit, "MemoryHigh=", o.memory_high_bytes, "\n");
  if (o.memory_max_bytes > 0) absl::StrAppend(&unit, "MemoryMax=", o.memory_max_bytes, "\n");
  if (o.tasks_max > 0) absl::StrAppend(&unit, "TasksMax=", o.tasks_max, "\n");
  if (o.cpu_quota_percent > 0) absl::StrAppend(&unit, "CPUQuota=", o.cpu_quota_percent, "%\n");
  if (o.hardening) {
    absl::StrAppend(&unit,
                    // What the game writes is its own account's alone.
                    "UMask=0077\n"
                    "NoNewPrivileges=yes\n"
                    "RemoveIPC=yes\n"
                    "PrivateMounts=yes\n"
                    "PrivateUsers=yes\n"
                    "PrivateTmp=yes\n"
                    "PrivateDevices=yes\n"
                    "ProtectSystem=strict\n"
                    "ReadWritePaths=",
                    o.root,
                    "/runtime/%i\n"
                    "ProtectHome=read-only\n"
                    // Other tenants' layers, instances (RCON passwords) and the agent's own
                    // files; other servers' runtime/ directories are their accounts' (0700).
                    "InaccessiblePaths=-",
                    o.root, "/overlays -", o.root, "/instances -", o.root, "/installation -",
                    o.root, "/agent -", o.root, "/tmp");
    for (const std::string& path : o.hidden_paths) absl::StrAppend(&unit, " -", path);
    absl::StrAppend(&unit,
                    "\n"
                    "ProtectKernelTunables=yes\n"
                    "ProtectKernelModules=yes\n"
                    "ProtectKernelLogs=yes\n"
                    "ProtectControlGroups=yes\n"
                    "ProtectClock=yes\n"
                    "ProtectHostname=yes\n"
                    "ProtectProc=invisible\n"
                    "RestrictNamespaces=yes\n"
                    "RestrictRealtime=yes\n"
                    "RestrictSUIDSGID=yes\n"
                    "LockPersonality=yes\n"
                    "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX\n"
                    "CapabilityBoundingSet=\n"
                    // srcds is 32-bit; it needs W+X pages, so no MemoryDenyWriteExecute.
                    "SystemCallArchitectures=native x86\n"
                    "SystemCallFilter=@system-service\n"
                    "SystemCallFilter=~@privileged @resources @mount\n"
                    "SocketBindAllow=",
                    o.port_first, "-", o.port_last,
                    "\n"
                    "SocketBindDeny=any\n");
  }
  absl::StrAppend(&unit, "\n[Install]\nWantedBy=multi-user.target\n");
  return unit;
}

std::vector<std::pair<std::string, std::string>> RenderSlices(const UnitTemplateOptions& o) {
  if (o.slice.empty()) return {};
  const std::string header = "# Written by l4d2-agent from its configuration (server_limits).\n";
  std::string parent =
      absl::StrCat(header, "[Unit]\nDescription=left4me game servers and their build work\n");
  if (!o.cpus.empty()) {
    absl::StrAppend(&parent,
                    "\n[Slice]\n# The other CPUs are kept for the host's own system.\nAllowedCPUs=",
                    o.cpus, "\n");
  }
  return {
      {absl::StrCat(o.slice, ".slice"), parent},
      {absl::StrCat(o.slice, "-servers.slice"),
       absl::StrCat(header, "[Unit]\nDescription=left4me game servers\n")},
      {WorkSlice(o),
       absl::StrCat(header,
                    "[Unit]\nDescription=left4me build work (overlay scripts)\n\n[Slice]\n"
                    "CPUWeight=20\nIOWeight=20\n")},
  };
}

std::string WorkSlice(const UnitTemplateOptions& o) {
  return o.slice.empty() ? "" : absl::StrCat(o.slice, "-work.slice");
}

std::string RenderInstanceDropIn(const v1::InstanceSpec& spec, const std::string& account) {
  const v1::RestartPolicy& restart = spec.restart();
  const v1::ResourceLimits& limits = spec.resources();
  const bool default_restart = restart.mode() == v1::RestartPolicy::MODE_ON_FAILURE &&
                               restart.delay().seconds() == 5 && restart.burst() == 5 &&
                               restart.interval().seconds() == 300;
  const bool default_limits = limits.memory_high_bytes() == 0 && limits.memory_max_bytes() == 0 &&
                              limits.cpu_weight() == 0 && limits.cpu_set().empty() &&
                              limits.tasks_max() == 0;
  if (default_restart && default_limits && account.empty()) return "";
  const char* mode = "on-failure";
  if (restart.mode() == v1::RestartPolicy::MODE_NEVER) mode = "no";
  if (restart.mode() == v1::RestartPolicy::MODE_ALWAYS) mode = "always";
  std::string dropin = absl::StrCat(
      "# Written by l4d2-agent from the instance's spec.\n[Unit]\nStartLimitIntervalSec=",
      restart.interval().seconds(), "s\nStartLimitBurst=", restart.burst(),
      "\n\n[Service]\nRestart=", mode, "\nRestartSec=", restart.delay().seconds(), "s\n");
  // The server's own account: its primary group too, and no other.
  if (!account.empty()) absl::StrAppend(&dropin, "User=", account, "\n");
  if (limits.memory_high_bytes() > 0) {
    absl::StrAppend(&dropin, "MemoryHigh=", limits.memory_high_bytes(), "\n");
  }
  if (limits.memory_max_bytes() > 0) {
    absl::StrAppend(&dropin, "MemoryMax=", limits.memory_max_bytes(), "\n");
  }
  if (limits.cpu_weight() > 0) absl::StrAppend(&dropin, "CPUWeight=", limits.cpu_weight(), "\n");
  if (!limits.cpu_set().empty()) {
    absl::StrAppend(&dropin, "AllowedCPUs=", limits.cpu_set(), "\nCPUAffinity=", limits.cpu_set(),
                    "\n");
  }
  if (limits.tasks_max() > 0) absl::StrAppend(&dropin, "TasksMax=", limits.tasks_max(), "\n");
  return dropin;
}

}  // namespace l4d2::agent
