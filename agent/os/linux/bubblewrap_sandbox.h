#pragma once

// ScriptSandbox with bubblewrap (bwrap(1)) as an unprivileged user, in a transient unit of the
// service manager:
//
//   systemd-run --wait --pipe --collect -p User=U -p RuntimeMaxSec=T ... --
//     bwrap --unshare-all --die-with-parent --new-session --ro-bind /usr /usr ...
//       --bind <workdir> /overlay --chdir /overlay --clearenv ... /bin/sh -e /run/left4me/script
//
// The service manager switches the user and bounds memory, tasks and time, so the agent itself
// keeps its narrow sandbox (no setuid, no namespaces). The script sees a read-only /usr (and the
// /bin, /lib... links or binds of the host), a few read-only files of /etc (passwd, group,
// alternatives, TLS roots; resolv.conf and hosts with network), private /proc, /dev and /tmp,
// and its working directory /overlay, the only thing it can write. It has its own PID, IPC,
// UTS, cgroup, user and (unless network is asked for) network namespaces, so when it ends or
// is killed nothing of it survives. The user must not be root; a dedicated user
// (docs/operations.md) keeps other processes from touching the work.
//
// The agent (root) hands the working directory to the user before the run (mode 0700) and takes
// everything below it back after, top-down, so a process of that user cannot swap a path while
// it is being reclaimed.

#include <sys/types.h>

#include <string>
#include <vector>

#include "agent/os/process_runner.h"
#include "agent/os/script_sandbox.h"
#include "agent/os/server_users.h"

namespace l4d2::agent {

struct BubblewrapOptions {
  std::string bwrap = "/usr/bin/bwrap";
  // How to reach the service manager: systemd-run and its flags ("--user" in development),
  // and the environment it needs (XDG_RUNTIME_DIR for a user manager).
  std::vector<std::string> systemd_run = {"/usr/bin/systemd-run"};
  std::vector<std::string> env;
  // The account scripts run as.
  std::string user = "left4me-script";
  // Bounds of the script's unit: its own memory, and the bytes its files may take (a disk
  // quota: the script writes into a tmpfs of that size, copied into the overlay version when it
  // succeeds; its pages count in the unit's MemoryMax, which is the sum of both).
  int64_t memory_max_mib = 2048;
  int64_t disk_quota_mib = 2048;
  int tasks_max = 512;
  std::string cpu_quota = "100%";
  // The slice scripts run in (below the game servers' weight) and the CPUs they may use
  // (CPUAffinity=; the slice's AllowedCPUs= where cgroup v2 has the cpuset); empty: the
  // manager's defaults.
  std::string slice;
  std::string cpus;
  // With network, what a script may not reach (IPAddressDeny= of its unit, a cgroup filter on
  // its sockets): the host itself, so neither the agent's port nor the servers' RCON nor any
  // local service, whatever address they listen on. Filled by the agent with the host's own
  // addresses (HostAddresses); loopback, link-local and multicast are always denied.
  std::vector<std::string> denied_addresses;
  // Output lines passed on per run; further lines are counted, not passed.
  int max_output_lines = 2000;
};

// The addresses of this host's interfaces (getifaddrs), for denied_addresses.
std::vector<std::string> HostAddresses();

// A top-level entry of the host's root that programs need (/bin, /lib64, ...): a symlink
// (merged /usr) or a directory.
struct RootEntry {
  std::string name;            // "bin"
  std::string symlink_target;  // "usr/bin"; empty for a directory
};

// The entries of `root` ("/" in production) among bin, sbin, lib, lib32, lib64 and libx32.
std::vector<RootEntry> ProbeRootEntries(const std::string& root = "/");

// Where the script's files are held while it runs: `<workdir>.quota`, the mount point of its
// tmpfs (made and removed by Run).
std::string QuotaDirectory(const ScriptJob& job);

// The complete argv for one run as unit `unit` and `account`; `script` is the host path of the
// script file.
std::vector<std::string> ScriptArgv(const BubblewrapOptions& options, const std::string& unit,
                                    const std::vector<RootEntry>& root_entries,
                                    const ScriptJob& job, const std::string& script,
                                    const ServerAccount& account);

class BubblewrapSandbox final : public ScriptSandbox {
 public:
  // `runner` must outlive the sandbox.
  BubblewrapSandbox(ProcessRunner& runner, BubblewrapOptions options);

  absl::Status Run(const ScriptJob& job, const LineSink& output) override;

 private:
  ProcessRunner& runner_;
  BubblewrapOptions options_;
};

// Makes every entry below `directory` (and itself) owned by uid/gid 0, clears set-id bits and
// group/other write permission; symlinks are re-owned but never followed. Top-down.
absl::Status ReclaimTree(const std::string& directory);

}  // namespace l4d2::agent
