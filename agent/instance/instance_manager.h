#pragma once

// The instances of a host: their files below instances/<name>/ and runtime/<name>/, and their
// lifecycle through systemd (the unit mounts the overlay stack; the agent never mounts or
// forks a game server itself).
//
//   Initialize  validates the spec (ports unique on the host, overlays present), records it and,
//               unless the instance runs, renders its files as Start does (ready to mount); a
//               running instance keeps running and picks the spec up at its next start.
//   Start       pins the current install and overlay versions, renders server.cfg into the
//               instance's own layer, writes the mount plan, unit environment and drop-in,
//               then starts the unit.
//   Stop        stops the unit (SIGINT, then SIGKILL after 15 s); ExecStopPost unmounts.
//   Reset       stops and empties the writable layer. Delete removes everything.
// Status combines the unit's facts with the game's own A2S answer.
//
// Callers serialize mutating calls per instance (the operation registry's lock); reads may run
// at any time. Errors: INVALID_ARGUMENT, NOT_FOUND, FAILED_PRECONDITION (not installed, port
// taken, still mounted), UNAVAILABLE (systemd did not answer).

#include <functional>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "agent/host/layout.h"
#include "agent/instance/unit_files.h"
#include "agent/os/game_client.h"
#include "agent/os/host_probe.h"
#include "agent/os/server_users.h"
#include "agent/os/service_manager.h"
#include "common/clock.h"
#include "l4d2/agent/internal/records.pb.h"
#include "l4d2/agent/v1/agent_service.pb.h"
#include "spec/spec.h"

namespace l4d2::agent {

struct InstanceManagerOptions {
  spec::SpecLimits limits;
  // Address the servers bind (+ip) and the address the agent queries them on.
  std::string bind_ip = "0.0.0.0";
  std::string query_host = "127.0.0.1";
  absl::Duration a2s_timeout = absl::Milliseconds(500);
  // Where the unit template and drop-ins are written.
  std::string unit_dir = "/etc/systemd/system";
  UnitTemplateOptions unit;
  // Get() answers share one observation of systemd and the game for this long (status polls
  // from many clients cost one systemctl and one A2S query); zero: every Get observes anew.
  // The agent's own changes to an instance end its observation at once.
  absl::Duration status_ttl = absl::Seconds(1);
  // Tells which ports other processes hold (LinuxHostProbe in production): a port newly given
  // to an instance must be free of them too. Null: only instances' ports are checked.
  HostProbe* ports = nullptr;
  // One account per server (agent/os/server_users.h): the pool's name prefix, and where the
  // pool is read. Empty prefix: servers run as the service manager's user (development).
  std::string server_users;
  ServerUsers* accounts = nullptr;
  // Where the servers send their log stream ("ip:port" of the agent's listener,
  // agent/players/game_log_service.h), written into each server.cfg with the instance's
  // sv_logsecret; empty: no log stream.
  std::string game_log_address;
};

class InstanceManager {
 public:
  // All references must outlive the manager. `mounted` tells whether an instance's merged
  // directory is an overlay mount (OverlayMounter::IsMounted in production).
  InstanceManager(HostLayout layout, ServiceManager& systemd, GameClient& game, Clock& clock,
                  InstanceManagerOptions options, std::function<bool(const std::string&)> mounted);

  // Writes the unit template (if it changed) and reloads systemd.
  absl::Status InstallUnitTemplate();

  absl::StatusOr<v1::Instance> Initialize(const std::string& name, const v1::InstanceSpec& spec);
  absl::StatusOr<v1::Instance> Start(const std::string& name);
  absl::StatusOr<v1::Instance> Stop(const std::string& name);
  absl::StatusOr<v1::Instance> Restart(const std::string& name);
  absl::StatusOr<v1::Instance> Reset(const std::string& name);
  // False when there was nothing to delete.
  absl::StatusOr<bool> Delete(const std::string& name);

  absl::StatusOr<v1::Instance> Get(const std::string& name, bool include_players);
  // What Get would answer, when an observation younger than status_ttl is at hand; never
  // blocks on the OS (for gRPC callback threads).
  std::optional<v1::Instance> Cached(const std::string& name, bool include_players);
  absl::StatusOr<v1::ListInstancesResponse> List(bool include_game_status);

  // Runs one console line over RCON with the instance's own password; returns the output.
  // INVALID_ARGUMENT for an empty, multi-line or over-long command, FAILED_PRECONDITION when
  // the instance is not running, UNAVAILABLE when the game does not answer in `timeout`.
  absl::StatusOr<std::string> Console(const std::string& name, const std::string& command,
                                      absl::Duration timeout);

  // "<ref>/<version>" -> instances pinned to it (by their last start).
  std::map<std::string, std::vector<std::string>> PinnedLayers() const;

  // The ports instances hold (whatever their state), sorted, for host info.
  std::vector<int> HeldPorts();

  // Instances whose unit is active, for host info. UNAVAILABLE when systemd does not answer.
  absl::StatusOr<int> CountRunning();

  // The instance's writable layer (runtime/<name>/upper).
  std::string WritableLayer(const std::string& name) const { return RuntimeDir(name) + "/upper"; }
  // Whether the instance's unit runs (anything but inactive or failed) or its stack is mounted.
  absl::StatusOr<bool> Running(const std::string& name);
  // Puts `layer` (a directory on the writable layer's filesystem: a restored backup) in place
  // of the stopped instance's writable layer, everything in it given to the server's account,
  // and empties the work directory; the old layer is removed. FAILED_PRECONDITION while the
  // instance runs or is mounted.
  absl::Status ReplaceWritableLayer(const std::string& name, const std::string& layer);

  // The systemd unit of an instance: "<unit prefix>@<name>.service".
  std::string UnitOf(const std::string& name) const;

  // The RCON password of an instance, for the console.
  absl::StatusOr<std::string> RconPassword(const std::string& name) const;
  // The instance's sv_logsecret (digits; made at first use, kept in its directory like the RCON
  // password). NOT_FOUND for an instance that does not exist.
  absl::StatusOr<std::string> LogSecret(const std::string& name);
  absl::StatusOr<internal::InstanceRecord> Record(const std::string& name) const;

 private:
  std::string InstanceDir(const std::string& name) const;
  std::string RuntimeDir(const std::string& name) const;
  std::string DropInPath(const std::string& name) const;
  absl::Status WriteRecord(const internal::InstanceRecord& record) const;
  absl::Status Prepare(internal::InstanceRecord* record);
  // `known`: the unit's facts when the caller read them already (List reads every unit's at
  // once); else read here.
  void AddPings(const internal::InstanceRecord& record, const GameAddress& address,
                v1::GameStatus& game);
  absl::StatusOr<v1::Instance> Describe(const internal::InstanceRecord& record, bool query_game,
                                        bool include_players, const UnitFacts* known = nullptr);

  HostLayout layout_;
  ServiceManager& systemd_;
  GameClient& game_;
  Clock& clock_;
  InstanceManagerOptions options_;
  std::function<bool(const std::string&)> mounted_;
  // Reserves `port` for `name`: true when newly reserved, false when it was already `name`'s,
  // a spec::PortTakenError when another instance has it. The index is read from the records at
  // first use and kept by Initialize and Delete.
  absl::StatusOr<bool> ReservePort(const std::string& name, int port);
  void LoadPortsLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(ports_mutex_);
  // Forgets the ports of `name`, but `except`.
  void ReleasePorts(const std::string& name, std::optional<int> except);
  absl::StatusOr<std::string> EnsureRconPassword(const std::string& name);
  // Gives `record` the first free account of the pool, kept for the instance's life: true when
  // newly given (ReleaseAccount undoes it), false when it had one or servers run as the
  // manager's user. FAILED_PRECONDITION when every account of the pool is in use.
  absl::StatusOr<bool> AssignAccount(internal::InstanceRecord* record);
  void ReleaseAccount(const std::string& name);
  // Makes what the server reads and writes its account's: its runtime directory and writable
  // layer (GiveDirectoriesTo), its instance directory root's alone.
  absl::Status GiveFilesToAccount(const internal::InstanceRecord& record,
                                  const std::vector<std::string>& lowers);

  // Port -> instance and account -> instance, for every instance of the host.
  absl::Mutex ports_mutex_;
  absl::flat_hash_map<int, std::string> ports_ ABSL_GUARDED_BY(ports_mutex_);
  absl::flat_hash_map<std::string, std::string> accounts_ ABSL_GUARDED_BY(ports_mutex_);
  bool ports_loaded_ ABSL_GUARDED_BY(ports_mutex_) = false;

  // Ends the shared observation of `name`; one still being made is not kept. Called before and
  // after every change the agent makes to the instance, console commands included.
  void Invalidate(const std::string& name);
  struct Observation {
    v1::Instance instance;
    absl::Time at;
  };
  absl::Mutex cache_mutex_;
  // By name and include_players.
  absl::flat_hash_map<std::pair<std::string, bool>, Observation> observations_
      ABSL_GUARDED_BY(cache_mutex_);
  absl::flat_hash_map<std::string, uint64_t> generations_ ABSL_GUARDED_BY(cache_mutex_);

  // Hang detection: when each instance's game last answered A2S, for the process that
  // answered (a new main PID starts afresh: it is booting, not hung).
  struct Answered {
    int main_pid = 0;
    absl::Time last = absl::InfinitePast();
  };
  absl::flat_hash_map<std::string, Answered> answered_ ABSL_GUARDED_BY(cache_mutex_);
  // Notes whether the game of `name`'s process `main_pid` answered A2S now; true when it
  // answered before and has not for `grace` (0: never hung).
  bool Hung(const std::string& name, int main_pid, bool answered, absl::Duration grace);
};

}  // namespace l4d2::agent
