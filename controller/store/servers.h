#pragma once

// Servers of the fleet (table `servers`; their samples in `metric_samples`, metric_history.h). A
// server belongs to its owner (operators see only theirs; admins all), is live-linked to one of the
// owner's blueprints, and once placed lives on one host at one port for good: the controller never
// starts it a second time elsewhere (a host that comes back is reconciled, not duplicated).
//
// Desired state (running or stopped) is the operator's intent; the actual state is what the
// host's agent last reported ("" before the first report, "missing" when the agent does not
// know the instance, else the agent's state in lower case: stopped, starting, running,
// stopping, crashed, crash_loop). The reconciler (controller/fleet/reconciler.h) brings the
// actual state to the desired one. Thread-safe.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "common/clock.h"
#include "controller/store/actor.h"
#include "controller/store/database.h"
#include "controller/store/page.h"
#include "controller/store/server_states.h"

namespace l4d2::controller {

struct Server {
  std::string id;
  std::string owner_id;
  std::string name;  // the instance name on its host, unique in the fleet
  std::string blueprint_id;
  std::string host_id;  // "" until placed
  int port = 0;
  DesiredState desired_state = DesiredState::kStopped;
  ServerState actual_state = ServerState::kUnknown;
  std::string status;                   // the agent's last l4d2.agent.v1.InstanceStatus, JSON
  std::optional<absl::Time> status_at;  // when state or status last changed
  int players = 0;                      // as last observed (the status's game.players)
  // The game build its instance runs (or last ran), as last observed; "" until then.
  std::string build;
  // Starts the reconciler made since the server last ran, and when it may make the next.
  int restart_attempts = 0;
  absl::Time next_restart_at;
  absl::Time created_at;
  // Grows with every change to the row (every UPDATE of servers bumps it), so a server's id
  // and revision name one content of its row: what the API's JSON memo is keyed by.
  int64_t revision = 0;
};

// A server's place in a list: the row's identity and version without its content.
struct ServerFilter {
  std::string host_id;                        // "" for any
  std::string blueprint_id;                   // "" for any
  std::optional<DesiredState> desired_state;  // nullopt for any
  std::optional<ServerState> actual_state;    // nullopt for any
  std::string name_prefix;                    // "" for any
  // A page: names after this one, at most `limit` of them (0: all).
  std::string after_name;
  int limit = 0;
};

struct PlacementOptions {
  // Memory a server is assumed to need: a host with its total memory known takes no more
  // servers than fit. 0 disables the memory check.
  int64_t memory_per_server_bytes = int64_t{1} << 30;
};

// What a host's agent said of one instance in a status round.
struct InstanceObservation {
  std::string name;
  ServerState state = ServerState::kUnknown;
  std::string status;  // JSON
  int players = 0;
  int64_t cpu_millis = 0;
  int64_t memory_bytes = 0;
  int64_t latency_us = 0;         // of the A2S query
  std::string build;              // the game build the instance runs (or last ran)
  bool restart_required = false;  // the game printed Steam's restart request
};

// A server of an observed host, with its actual state before and after the round.
struct ObservedServer {
  Server server;  // after the round
  ServerState previous_state = ServerState::kUnknown;
  // The game printed Steam's restart request in this round, not in the previous one.
  bool update_required_began = false;
};

class ServerStore {
 public:
  // `db` and `clock` must outlive the store.
  ServerStore(Database& db, Clock& clock);

  // A new server of the actor on one of the actor's blueprints, not yet placed.
  // INVALID_ARGUMENT for a bad name; NOT_FOUND for a blueprint that is not the
  // actor's; ALREADY_EXISTS for a taken name.
  absl::StatusOr<Server> Create(const Actor& actor, const std::string& name,
                                const std::string& blueprint_id, DesiredState desired);
  absl::StatusOr<Server> Get(const Actor& actor, const std::string& id);
  // Those the actor sees that match, by name.
  absl::StatusOr<std::vector<Server>> List(const Actor& actor, const ServerFilter& filter = {});
  // The same list as ids, names and revisions only. Without filters other than the page it is
  // read from an index alone, never touching the rows: the cheap first half of a list whose
  // rows' JSON the caller mostly remembers (docs/benchmarks.md, P6).
  absl::StatusOr<std::vector<RowRevision>> ListRevisions(const Actor& actor,
                                                         const ServerFilter& filter);
  // Every server whose status changed after `since` (index servers_by_status_time), oldest
  // status first: what the live `server` events are made from.
  absl::StatusOr<std::vector<Server>> StatusSince(absl::Time since);
  // The servers among `ids` the actor sees, in name order; unknown ids are left out.
  absl::StatusOr<std::vector<Server>> GetMany(const Actor& actor,
                                              absl::Span<const std::string> ids);
  // As GetMany, within the caller's transaction on `sql` (read in chunks of ids).
  std::vector<Server> GetMany(soci::session& sql, const Actor& actor,
                              absl::Span<const std::string> ids);

  absl::Status SetDesired(const std::string& id, DesiredState desired);
  // SetDesired for many servers within the caller's transaction on `sql`; unknown ids are
  // left alone.
  void SetDesired(soci::session& sql, absl::Span<const std::string> ids, DesiredState desired);
  // Switches to another blueprint of the server's owner (NOT_FOUND otherwise).
  absl::Status SetBlueprint(const std::string& id, const std::string& blueprint_id);
  // Places an unplaced server on the least loaded ready host with the game installed, room for
  // one more (instance count and memory) and a free port in its range; a placed server stays
  // where it is. RESOURCE_EXHAUSTED when no host has room.
  absl::StatusOr<Server> Place(const std::string& id, const PlacementOptions& options);
  // Takes a placed server off its host and port, to be placed again: its instance could not be
  // made there (the port was taken). Nothing is left of it on the host.
  absl::Status Unplace(const std::string& id);
  // Forgets the server (its instance is gone from its host).
  absl::Status Remove(const std::string& id);

  // Records a status round of `host_id`: every server placed there gets its instance's state
  // ("missing" when the agent does not list it), and running ones a metric sample. A row is
  // written only when its state or status changed.
  absl::StatusOr<std::vector<ObservedServer>> ObserveHost(
      const std::string& host_id, const std::vector<InstanceObservation>& instances);
  // ObserveHost for several hosts in one transaction (statements prepared once): a round over
  // thousands of hosts goes in chunks of these.
  struct HostObservation {
    std::string host_id;
    std::vector<InstanceObservation> instances;
  };
  absl::StatusOr<std::vector<ObservedServer>> ObserveHosts(
      const std::vector<HostObservation>& hosts);
  absl::Status SetRestartBackoff(const std::string& id, int attempts, absl::Time next);
  // Hosts with at least one server placed on them.
  absl::StatusOr<absl::flat_hash_set<std::string>> HostsWithServers();
  // Per host id, its running servers whose build is not the host's installed one (they move
  // to it at their next start), counted from a covering index (servers_builds).
  absl::StatusOr<absl::flat_hash_map<std::string, int>> BehindByHost();
  // Servers placed on one host, counted in SQL (a host list counts its page's in its own
  // query: HostStore::List).
  absl::StatusOr<int> CountOnHost(const std::string& host_id);

 private:
  Database& db_;
  Clock& clock_;
};

}  // namespace l4d2::controller
