#include "controller/store/servers.h"

#include <algorithm>
#include <map>

#include "absl/strings/str_cat.h"
#include "common/names.h"
#include "common/status_macros.h"
#include "controller/store/hosts.h"
#include "controller/store/ids.h"
#include "controller/store/row_batch.h"
#include "rpc/proto_json.h"
#include "soci/soci.h"

namespace l4d2::controller {
namespace {

// Serializes placement across controllers on one PostgreSQL database.
constexpr int64_t kPlacementLockKey = 0x6c34643270;  // "l4d2p"

// Servers matching `where` (SQL over the servers table, with `params` bound in order).
std::vector<Server> ReadServers(soci::session& sql, const std::string& where,
                                const std::vector<std::string>& params, int limit = 0,
                                bool by_name = true) {
  Server row;
  std::string host, status, desired, actual;
  int port = 0, attempts = 0, players = 0;
  long long status_at = 0, next_restart = 0, created = 0, revision = 0;
  soci::indicator host_indicator, port_indicator, status_at_indicator;
  soci::statement statement(sql);
  for (const std::string& param : params) statement.exchange(soci::use(param));
  statement.exchange(soci::into(row.id));
  statement.exchange(soci::into(row.owner_id));
  statement.exchange(soci::into(row.name));
  statement.exchange(soci::into(row.blueprint_id));
  statement.exchange(soci::into(host, host_indicator));
  statement.exchange(soci::into(port, port_indicator));
  statement.exchange(soci::into(desired));
  statement.exchange(soci::into(actual));
  statement.exchange(soci::into(status));
  statement.exchange(soci::into(status_at, status_at_indicator));
  statement.exchange(soci::into(attempts));
  statement.exchange(soci::into(next_restart));
  statement.exchange(soci::into(created));
  statement.exchange(soci::into(revision));
  statement.exchange(soci::into(players));
  statement.exchange(soci::into(row.build));
  statement.alloc();
  statement.prepare(
      "SELECT id, owner_id, name, blueprint_id, host_id, port, desired_state, actual_state,"
      " status, status_at_ms, restart_attempts, next_restart_ms, created_at_ms, revision,"
      " players, build FROM servers WHERE " +
      where + (by_name ? " ORDER BY name" : "") +
      (limit > 0 ? absl::StrCat(" LIMIT ", limit) : ""));
  statement.define_and_bind();
  statement.execute(false);
  std::vector<Server> servers;
  while (statement.fetch()) {
    // Moved out: the next fetch assigns every bound field again.
    Server& server = servers.emplace_back(std::move(row));
    if (host_indicator == soci::i_ok) server.host_id = std::move(host);
    server.port = port_indicator == soci::i_ok ? port : 0;
    server.status = std::move(status);
    // The schema allows only these names (a CHECK on desired_state; actual_state is written
    // from ServerStateName alone).
    server.desired_state = ParseDesiredState(desired).value_or(DesiredState::kStopped);
    server.actual_state = ParseServerState(actual).value_or(ServerState::kUnknown);
    if (status_at_indicator == soci::i_ok) server.status_at = absl::FromUnixMillis(status_at);
    server.restart_attempts = attempts;
    server.next_restart_at = absl::FromUnixMillis(next_restart);
    server.created_at = absl::FromUnixMillis(created);
    server.revision = revision;
    server.players = players;
  }
  return servers;
}

absl::StatusOr<Server> ReadServer(soci::session& sql, const std::string& id) {
  std::vector<Server> servers = ReadServers(sql, "id = :id", {id});
  if (servers.empty()) return absl::NotFoundError(absl::StrCat("no server '", id, "'"));
  return servers.front();
}

}  // namespace

ServerStore::ServerStore(Database& db, Clock& clock) : db_(db), clock_(clock) {}

absl::StatusOr<Server> ServerStore::Create(const Actor& actor, const std::string& name,
                                           const std::string& blueprint_id,
                                           DesiredState desired_state) {
  L4D2_RETURN_IF_ERROR(ValidateInstanceName(name));
  const std::string desired(DesiredStateName(desired_state));
  if (actor.user_id.empty()) return absl::InvalidArgumentError("a server needs a user as owner");
  const std::string id = "s" + RandomHex(12);
  absl::StatusOr<Server> created;
  L4D2_RETURN_IF_ERROR(db_.Transact([&](soci::session& sql) -> absl::Status {
    std::string owner;
    sql << "SELECT owner_id FROM blueprints WHERE id = :id", soci::use(blueprint_id),
        soci::into(owner);
    // Blueprints are private: only the owner's own (an admin's server needs an admin's one).
    if (!sql.got_data() || owner != actor.user_id) {
      return absl::NotFoundError(absl::StrCat("no blueprint '", blueprint_id, "'"));
    }
    long long taken = 0;
    sql << "SELECT COUNT(*) FROM servers WHERE name = :n", soci::use(name), soci::into(taken);
    if (taken > 0) return absl::AlreadyExistsError(absl::StrCat("server '", name, "' exists"));
    long long now = absl::ToUnixMillis(clock_.Now());
    sql << "INSERT INTO servers (id, owner_id, name, blueprint_id, desired_state, created_at_ms,"
           " updated_at_ms) VALUES (:id, :o, :n, :b, :d, :c, :u)",
        soci::use(id), soci::use(actor.user_id), soci::use(name), soci::use(blueprint_id),
        soci::use(desired), soci::use(now), soci::use(now);
    created = ReadServer(sql, id);
    return created.status();
  }));
  return created;
}

absl::StatusOr<Server> ServerStore::Get(const Actor& actor, const std::string& id) {
  absl::StatusOr<Server> server;
  L4D2_RETURN_IF_ERROR(db_.WithSession([&](soci::session& sql) -> absl::Status {
    server = ReadServer(sql, id);
    return absl::OkStatus();
  }));
  if (server.ok() && !actor.Sees(server->owner_id)) {
    return absl::NotFoundError(absl::StrCat("no server '", id, "'"));
  }
  return server;
}

namespace {

// The WHERE clause of a list, with its parameters in order.
std::pair<std::string, std::vector<std::string>> ListClause(const Actor& actor,
                                                            const ServerFilter& filter) {
  std::string where = "1 = 1";
  std::vector<std::string> params;
  if (!actor.admin) {
    where += " AND owner_id = :o";
    params.push_back(actor.user_id);
  }
  if (!filter.host_id.empty()) {
    where += " AND host_id = :h";
    params.push_back(filter.host_id);
  }
  if (!filter.blueprint_id.empty()) {
    where += " AND blueprint_id = :b";
    params.push_back(filter.blueprint_id);
  }
  if (filter.desired_state.has_value()) {
    where += " AND desired_state = :d";
    params.emplace_back(DesiredStateName(*filter.desired_state));
  }
  if (filter.actual_state.has_value()) {
    where += " AND actual_state = :a";
    params.emplace_back(ServerStateName(*filter.actual_state));
  }
  if (!filter.name_prefix.empty()) {
    // Names are [a-z0-9_-]: every name with the prefix sorts below prefix + "~".
    where += " AND name >= :p AND name < :q";
    params.push_back(filter.name_prefix);
    params.push_back(filter.name_prefix + "~");
  }
  if (!filter.after_name.empty()) {
    where += " AND name > :after";
    params.push_back(filter.after_name);
  }
  return {std::move(where), std::move(params)};
}

}  // namespace

absl::StatusOr<std::vector<Server>> ServerStore::List(const Actor& actor,
                                                      const ServerFilter& filter) {
  // Not a structured binding: clang 14 (the fuzzing build) cannot capture one in a lambda.
  const std::pair<std::string, std::vector<std::string>> clause = ListClause(actor, filter);
  const std::string& where = clause.first;
  const std::vector<std::string>& params = clause.second;
  std::vector<Server> servers;
  L4D2_RETURN_IF_ERROR(db_.WithSession([&](soci::session& sql) -> absl::Status {
    servers = ReadServers(sql, where, params, filter.limit);
    return absl::OkStatus();
  }));
  return servers;
}

absl::StatusOr<std::vector<RowRevision>> ServerStore::ListRevisions(const Actor& actor,
                                                                    const ServerFilter& filter) {
  // Not a structured binding: clang 14 (the fuzzing build) cannot capture one in a lambda.
  const std::pair<std::string, std::vector<std::string>> clause = ListClause(actor, filter);
  const std::string& where = clause.first;
  const std::vector<std::string>& params = clause.second;
  std::vector<RowRevision> page;
  L4D2_RETURN_IF_ERROR(db_.WithSession([&](soci::session& sql) -> absl::Status {
    // Covered by servers_page_by_owner (operators) and servers_page (admins).
    page = ReadRowRevisions(sql,
                            "SELECT id, name, revision FROM servers WHERE " + where +
                                " ORDER BY name" +
                                (filter.limit > 0 ? absl::StrCat(" LIMIT ", filter.limit) : ""),
                            params);
    return absl::OkStatus();
  }));
  return page;
}

absl::StatusOr<std::vector<Server>> ServerStore::StatusSince(absl::Time since) {
  std::vector<Server> servers;
  const std::string since_ms = absl::StrCat(absl::ToUnixMillis(since));
  L4D2_RETURN_IF_ERROR(db_.WithSession([&](soci::session& sql) -> absl::Status {
    // In the order of their statuses, from servers_by_status_time: in name order the planner
    // walked every server on every poll of the event streams (issue Scale).
    servers = ReadServers(sql, "status_at_ms > CAST(:t AS BIGINT) ORDER BY status_at_ms",
                          {since_ms}, /*limit=*/0, /*by_name=*/false);
    return absl::OkStatus();
  }));
  return servers;
}

absl::StatusOr<std::vector<Server>> ServerStore::GetMany(const Actor& actor,
                                                         absl::Span<const std::string> ids) {
  std::vector<Server> servers;
  if (ids.empty()) return servers;
  L4D2_RETURN_IF_ERROR(db_.WithSession([&](soci::session& sql) -> absl::Status {
    servers = GetMany(sql, actor, ids);
    return absl::OkStatus();
  }));
  return servers;
}

std::vector<Server> ServerStore::GetMany(soci::session& sql, const Actor& actor,
                                         absl::Span<const std::string> ids) {
  std::vector<Server> servers;
  for (size_t at = 0; at < ids.size(); at += kIdsPerStatement) {
    std::vector<std::string> params;
    std::string where = IdIn(ids.subspan(at, kIdsPerStatement), params);
    if (!actor.admin) {
      where += " AND owner_id = :o";
      params.push_back(actor.user_id);
    }
    // Sorted here, not in SQL: an ORDER BY name over an id list made SQLite walk the whole
    // table in name order instead of looking the ids up.
    std::vector<Server> chunk = ReadServers(sql, where, params, 0, /*by_name=*/false);
    servers.insert(servers.end(), std::make_move_iterator(chunk.begin()),
                   std::make_move_iterator(chunk.end()));
  }
  std::sort(servers.begin(), servers.end(),
            [](const Server& a, const Server& b) { return a.name < b.name; });
  return servers;
}

absl::Status ServerStore::SetDesired(const std::string& id, DesiredState desired_state) {
  return db_.Transact([&](soci::session& sql) -> absl::Status {
    L4D2_RETURN_IF_ERROR(ReadServer(sql, id).status());
    SetDesired(sql, absl::MakeConstSpan(&id, 1), desired_state);
    return absl::OkStatus();
  });
}

void ServerStore::SetDesired(soci::session& sql, absl::Span<const std::string> ids,
                             DesiredState desired_state) {
  const std::string desired(DesiredStateName(desired_state));
  long long now = absl::ToUnixMillis(clock_.Now());
  for (size_t at = 0; at < ids.size(); at += kIdsPerStatement) {
    std::vector<std::string> params;
    const std::string in = IdIn(ids.subspan(at, kIdsPerStatement), params);
    // A new intent starts the reconciler's restart count afresh.
    soci::statement update(sql);
    update.exchange(soci::use(desired));
    update.exchange(soci::use(now));
    for (const std::string& param : params) update.exchange(soci::use(param));
    update.alloc();
    update.prepare(
        "UPDATE servers SET desired_state = :d, restart_attempts = 0, next_restart_ms = 0,"
        " updated_at_ms = :u, revision = revision + 1 WHERE " +
        in);
    update.define_and_bind();
    update.execute(true);
  }
}

absl::Status ServerStore::SetBlueprint(const std::string& id, const std::string& blueprint_id) {
  return db_.Transact([&](soci::session& sql) -> absl::Status {
    L4D2_ASSIGN_OR_RETURN(Server server, ReadServer(sql, id));
    std::string owner;
    sql << "SELECT owner_id FROM blueprints WHERE id = :id", soci::use(blueprint_id),
        soci::into(owner);
    if (!sql.got_data() || owner != server.owner_id) {
      return absl::NotFoundError(absl::StrCat("no blueprint '", blueprint_id, "'"));
    }
    long long now = absl::ToUnixMillis(clock_.Now());
    sql << "UPDATE servers SET blueprint_id = :b, updated_at_ms = :u, revision = revision + 1"
           " WHERE id = :id",
        soci::use(blueprint_id), soci::use(now), soci::use(id);
    return absl::OkStatus();
  });
}

absl::StatusOr<Server> ServerStore::Place(const std::string& id, const PlacementOptions& options) {
  absl::StatusOr<Server> placed;
  L4D2_RETURN_IF_ERROR(db_.Transact([&](soci::session& sql) -> absl::Status {
    if (db_.backend() == DatabaseBackend::kPostgresql) {
      sql << "SELECT pg_advisory_xact_lock(" << kPlacementLockKey << ")";
    }
    L4D2_ASSIGN_OR_RETURN(Server server, ReadServer(sql, id));
    if (!server.host_id.empty()) {
      placed = server;
      return absl::OkStatus();
    }
    // Candidates with their load, least loaded first (by share of their instance count).
    struct Candidate {
      std::string id;
      int max_instances, port_first, port_last, count;
      long long memory;
      std::string ports_in_use;
    };
    std::vector<Candidate> candidates;
    {
      Candidate c;
      soci::statement statement =
          (sql.prepare
               << "SELECT h.id, h.max_instances, h.port_first, h.port_last,"
                  " h.memory_bytes, (SELECT COUNT(*) FROM servers s WHERE s.host_id = h.id),"
                  " h.ports_in_use FROM hosts h WHERE h.state = 'ready' AND h.drained = 0"
                  " AND h.installed_build IS NOT NULL"
                  " AND h.installed_build <> '' ORDER BY h.id",
           soci::into(c.id), soci::into(c.max_instances), soci::into(c.port_first),
           soci::into(c.port_last), soci::into(c.memory), soci::into(c.count),
           soci::into(c.ports_in_use));
      statement.execute();
      while (statement.fetch()) {
        const bool room = c.count < c.max_instances &&
                          (c.memory <= 0 || options.memory_per_server_bytes <= 0 ||
                           (c.count + 1) * options.memory_per_server_bytes <= c.memory);
        if (room) candidates.push_back(c);
      }
    }
    std::stable_sort(candidates.begin(), candidates.end(),
                     [](const Candidate& a, const Candidate& b) {
                       return static_cast<int64_t>(a.count) * b.max_instances <
                              static_cast<int64_t>(b.count) * a.max_instances;
                     });
    for (const Candidate& host : candidates) {
      // Taken: its servers' ports, and what its agent reports in use (unmanaged instances,
      // other processes), or a create found taken since.
      std::vector<int> used = DecodePorts(host.ports_in_use);
      int port = 0;
      soci::statement ports = (sql.prepare << "SELECT port FROM servers WHERE host_id = :h"
                                              " AND port IS NOT NULL",
                               soci::use(host.id), soci::into(port));
      ports.execute();
      while (ports.fetch()) used.push_back(port);
      std::sort(used.begin(), used.end());
      int free = host.port_first;
      for (int taken : used) {
        if (taken == free) ++free;
      }
      if (free > host.port_last) continue;
      long long now = absl::ToUnixMillis(clock_.Now());
      sql << "UPDATE servers SET host_id = :h, port = :p, updated_at_ms = :u,"
             " revision = revision + 1 WHERE id = :id",
          soci::use(host.id), soci::use(free), soci::use(now), soci::use(id);
      placed = ReadServer(sql, id);
      return placed.status();
    }
    return absl::ResourceExhaustedError(
        "no ready host with the game installed has room for another server");
  }));
  return placed;
}

absl::Status ServerStore::Unplace(const std::string& id) {
  return db_.Transact([&](soci::session& sql) -> absl::Status {
    long long now = absl::ToUnixMillis(clock_.Now());
    sql << "UPDATE servers SET host_id = NULL, port = NULL, updated_at_ms = :u,"
           " revision = revision + 1 WHERE id = :id",
        soci::use(now), soci::use(id);
    return absl::OkStatus();
  });
}

absl::Status ServerStore::Remove(const std::string& id) {
  return db_.Transact([&](soci::session& sql) -> absl::Status {
    sql << "DELETE FROM metric_samples WHERE server_id = :id", soci::use(id);
    sql << "DELETE FROM metric_rollups WHERE server_id = :id", soci::use(id);
    sql << "DELETE FROM servers WHERE id = :id", soci::use(id);
    return absl::OkStatus();
  });
}

absl::StatusOr<std::vector<ObservedServer>> ServerStore::ObserveHost(
    const std::string& host_id, const std::vector<InstanceObservation>& instances) {
  return ObserveHosts({{.host_id = host_id, .instances = instances}});
}

absl::StatusOr<std::vector<ObservedServer>> ServerStore::ObserveHosts(
    const std::vector<HostObservation>& hosts) {
  std::vector<ObservedServer> observed;
  if (hosts.empty()) return observed;
  // By (host, instance name).
  std::map<std::pair<std::string, std::string>, const InstanceObservation*> by_name;
  std::vector<std::string> host_ids;
  std::string host_parameters;  // ":h0, :h1, ...", bound to host_ids
  for (const HostObservation& host : hosts) {
    for (const InstanceObservation& instance : host.instances) {
      by_name[{host.host_id, instance.name}] = &instance;
    }
    absl::StrAppend(&host_parameters, host_ids.empty() ? "" : ", ", ":h", host_ids.size());
    host_ids.push_back(host.host_id);
  }
  L4D2_RETURN_IF_ERROR(db_.Transact([&](soci::session& sql) -> absl::Status {
    long long now = absl::ToUnixMillis(clock_.Now());
    std::string state, status, build, id;
    int players = 0;
    soci::statement update =
        (sql.prepare << "UPDATE servers SET actual_state = :a, status = :s, players = :p,"
                        " build = :b, status_at_ms = :t, revision = revision + 1 WHERE id = :id",
         soci::use(state), soci::use(status), soci::use(players), soci::use(build), soci::use(now),
         soci::use(id));
    // Every running server's sample, a few statements for all (a round of 50,000 servers on
    // PostgreSQL would otherwise be 50,000 round trips). Two rounds in one millisecond (two
    // controllers) keep the first sample.
    RowBatch samples(
        "INSERT INTO metric_samples (server_id, at_ms, players, cpu_millis, memory_bytes,"
        " latency_us)",
        6, " ON CONFLICT (server_id, at_ms) DO NOTHING");
    for (Server& server :
         ReadServers(sql, absl::StrCat("host_id IN (", host_parameters, ")"), host_ids)) {
      auto it = by_name.find({server.host_id, server.name});
      const bool seen = it != by_name.end();
      const ServerState observed_state = seen ? it->second->state : ServerState::kMissing;
      state = ServerStateName(observed_state);
      status = seen ? it->second->status : "";
      players = seen ? it->second->players : 0;
      // A missing instance keeps the build it last ran.
      build = seen && !it->second->build.empty() ? it->second->build : server.build;
      id = server.id;
      ObservedServer entry{.server = server, .previous_state = server.actual_state};
      if (seen && it->second->restart_required) {
        // Rare: only then is the previous status read.
        absl::StatusOr<agent::v1::InstanceStatus> before =
            FromJsonIgnoringUnknown<agent::v1::InstanceStatus>(server.status, "status");
        entry.update_required_began =
            server.status.empty() || (before.ok() && !before->log().restart_required());
      }
      if (observed_state != server.actual_state || status != server.status ||
          players != server.players || build != server.build) {
        update.execute(true);
        entry.server.actual_state = observed_state;
        entry.server.status = status;
        entry.server.players = players;
        entry.server.build = build;
        entry.server.status_at = absl::FromUnixMillis(now);
        ++entry.server.revision;
      }
      if (seen && observed_state == ServerState::kRunning) {
        samples.Add({server.id, int64_t{now}, int64_t{players}, it->second->cpu_millis,
                     it->second->memory_bytes, it->second->latency_us});
      }
      observed.push_back(std::move(entry));
    }
    samples.Write(sql);
    return absl::OkStatus();
  }));
  return observed;
}

absl::StatusOr<absl::flat_hash_set<std::string>> ServerStore::HostsWithServers() {
  absl::flat_hash_set<std::string> hosts;
  L4D2_RETURN_IF_ERROR(db_.WithSession([&](soci::session& sql) -> absl::Status {
    std::string host;
    soci::statement statement =
        (sql.prepare << "SELECT DISTINCT host_id FROM servers WHERE host_id IS NOT NULL",
         soci::into(host));
    statement.execute();
    while (statement.fetch()) hosts.insert(host);
    return absl::OkStatus();
  }));
  return hosts;
}

absl::StatusOr<absl::flat_hash_map<std::string, int>> ServerStore::BehindByHost() {
  absl::flat_hash_map<std::string, int> behind;
  L4D2_RETURN_IF_ERROR(db_.WithSession([&](soci::session& sql) -> absl::Status {
    std::string host;
    int count = 0;
    soci::statement statement =
        (sql.prepare << "SELECT s.host_id, COUNT(*) FROM servers s JOIN hosts h ON h.id = s.host_id"
                        " WHERE s.actual_state = 'running' AND s.build <> ''"
                        " AND s.build <> h.installed_build GROUP BY s.host_id",
         soci::into(host), soci::into(count));
    statement.execute();
    while (statement.fetch()) behind[host] = count;
    return absl::OkStatus();
  }));
  return behind;
}

absl::StatusOr<int> ServerStore::CountOnHost(const std::string& host_id) {
  long long count = 0;
  L4D2_RETURN_IF_ERROR(db_.WithSession([&](soci::session& sql) -> absl::Status {
    sql << "SELECT COUNT(*) FROM servers WHERE host_id = :h", soci::use(host_id), soci::into(count);
    return absl::OkStatus();
  }));
  return static_cast<int>(count);
}

absl::Status ServerStore::SetRestartBackoff(const std::string& id, int attempts, absl::Time next) {
  return db_.Transact([&](soci::session& sql) -> absl::Status {
    long long next_ms = absl::ToUnixMillis(next);
    sql << "UPDATE servers SET restart_attempts = :a, next_restart_ms = :n,"
           " revision = revision + 1 WHERE id = :id",
        soci::use(attempts), soci::use(next_ms), soci::use(id);
    return absl::OkStatus();
  });
}

}  // namespace l4d2::controller
