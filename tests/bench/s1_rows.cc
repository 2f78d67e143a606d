// S1 (docs/benchmarks.md, Scale): the rows the controller's steady loops write with a large
// fleet on PostgreSQL, when nothing changes and when some servers change every minute.
//
//   l4d2_bench_s1 CONNINFO HOSTS SERVERS_PER_HOST MINUTES [CHANGED_PERCENT_PER_MINUTE]
//
// CONNINFO: libpq conninfo of a server where the bench may create a database (tests/pg/start
// --env prints one as L4D2_TEST_POSTGRES). In this process, on a fresh database: HOSTS ready
// hosts with SERVERS_PER_HOST servers each, all running as they should (no job), seeded
// straight into SQL. Then MINUTES minutes of simulated time (a fake clock; as fast as the
// database allows): host health every 5 s and the reconciler every 10 s, against in-process
// agents that answer at once with every instance running, their CPU time, memory and A2S
// latency new in every answer (as a running game's are), and CHANGED_PERCENT_PER_MINUTE of the
// servers (default 0) changing their player count each minute. Prints the rows written per
// second of simulated time to `servers` and `hosts` (PostgreSQL's own counters,
// pg_stat_user_tables), beside the metric samples, and the wall time of a round.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <map>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "controller/fleet/host_monitor.h"
#include "controller/fleet/reconciler.h"
#include "controller/store/fleet_stores.h"
#include "controller/store/migrations.h"
#include "controller/store/row_batch.h"
#include "controller/store/users.h"
#include "soci/postgresql/soci-postgresql.h"
#include "soci/soci.h"
#include "tests/fakes/fake_clock.h"

namespace {

using namespace l4d2::controller;
namespace agent = l4d2::agent;

struct Fleet {
  int hosts = 0;
  int per_host = 0;
  std::vector<int> players;  // per server, host-major
  int answers = 0;
};

std::string HostId(int host) { return absl::StrFormat("h%05d", host); }
std::string ServerName(int host, int k) { return absl::StrFormat("s%05d-%02d", host, k); }

class Agents final : public InstanceLister, public HostPinger {
 public:
  explicit Agents(Fleet& fleet) : fleet_(fleet) {}

  std::vector<absl::StatusOr<agent::v1::ListInstancesResponse>> ListAll(
      const std::vector<Host>& hosts) override {
    ++fleet_.answers;
    std::vector<absl::StatusOr<agent::v1::ListInstancesResponse>> answers;
    for (const Host& host : hosts) {
      const int h = std::stoi(host.id.substr(1));
      agent::v1::ListInstancesResponse response;
      for (int k = 0; k < fleet_.per_host; ++k) {
        agent::v1::Instance* instance = response.add_instances();
        instance->set_name(ServerName(h, k));
        instance->mutable_spec()->set_port(27015 + k);
        agent::v1::InstanceStatus* status = instance->mutable_status();
        status->set_state(agent::v1::INSTANCE_STATE_RUNNING);
        status->mutable_unit()->set_active_state("active");
        status->mutable_unit()->set_memory_current_bytes((500 << 20) + fleet_.answers * 4096);
        status->mutable_unit()->mutable_cpu_usage()->set_seconds(fleet_.answers);
        status->mutable_game()->set_reachable(true);
        status->mutable_game()->set_map("c1m1_hotel");
        status->mutable_game()->set_players(fleet_.players[h * fleet_.per_host + k]);
        status->mutable_game()->mutable_latency()->set_nanos(1000000 + fleet_.answers % 1000);
      }
      answers.push_back(std::move(response));
    }
    return answers;
  }

  std::vector<absl::StatusOr<HostAnswer>> PingAll(const std::vector<Host>& hosts) override {
    std::vector<absl::StatusOr<HostAnswer>> answers;
    for (const Host& host : hosts) {
      HostAnswer answer;
      answer.info.set_installed_build_id(host.installed_build);
      answer.info.set_memory_total_bytes(static_cast<uint64_t>(host.memory_bytes));
      for (int port : host.ports_in_use) answer.info.add_ports_in_use(port);
      answers.push_back(std::move(answer));
    }
    return answers;
  }

 private:
  Fleet& fleet_;
};

// Rows inserted, updated and deleted per table so far, as PostgreSQL counts them.
std::map<std::string, int64_t> RowsWritten(soci::session& sql) {
  // Other sessions' counts reach the view when they flush (at most every second while busy,
  // 10 s after going idle): the caller waits for that first.
  std::map<std::string, int64_t> rows;
  std::string table;
  long long written = 0;
  soci::statement statement =
      (sql.prepare << "SELECT relname, n_tup_ins + n_tup_upd + n_tup_del FROM pg_stat_user_tables",
       soci::into(table), soci::into(written));
  statement.execute();
  while (statement.fetch()) rows[table] = written;
  return rows;
}

int Run(const std::string& conninfo, int hosts, int per_host, int minutes, double changed_pct) {
  const std::string name = absl::StrCat("l4d2_bench_s1_", getpid());
  {
    soci::session admin(soci::postgresql, conninfo + " dbname=postgres");
    admin << "CREATE DATABASE " << name;
  }
  const std::string url = absl::StrCat("postgresql:", conninfo, " dbname=", name);
  int status = 0;
  {
    l4d2::testing::FakeClock clock;
    std::unique_ptr<Database> db = *Database::Open({.url = url, .pool_size = 4});
    if (!ApplyMigrations(*db, ControllerMigrations(), clock).ok()) return 1;
    FleetStores stores(*db, clock);
    UserStore users(*db, clock, PasswordCost::Minimal());
    const Actor owner =
        Actor::Operator(users.Create("op", "correct horse battery", Role::kOperator)->id);
    BlueprintInput input{.name = "coop"};
    input.settings.set_game_mode("coop");
    const std::string blueprint = stores.blueprints.Create(owner, input)->id;
    const absl::Time seeding = absl::Now();
    const long long now = absl::ToUnixMillis(clock.Now());
    absl::Status seeded = db->Transact([&](soci::session& sql) {
      RowBatch host_rows(
          "INSERT INTO hosts (id, name, address, state, max_instances, memory_bytes, port_first,"
          " port_last, installed_build, last_seen_ms, created_at_ms)",
          11);
      RowBatch server_rows(
          "INSERT INTO servers (id, owner_id, name, blueprint_id, host_id, port, desired_state,"
          " actual_state, status, created_at_ms, updated_at_ms)",
          11);
      for (int h = 0; h < hosts; ++h) {
        host_rows.Add({HostId(h), HostId(h), absl::StrCat("10.0.", h / 250, ".", h % 250, ":7543"),
                       "ready", int64_t{per_host}, int64_t{64} << 30, int64_t{27015},
                       int64_t{27015 + per_host - 1}, "9000001", int64_t{now}, int64_t{now}});
        for (int k = 0; k < per_host; ++k) {
          server_rows.Add({absl::StrCat("x", ServerName(h, k)), owner.user_id, ServerName(h, k),
                           blueprint, HostId(h), int64_t{27015 + k}, "running", "running", "",
                           int64_t{now}, int64_t{now}});
        }
      }
      host_rows.Write(sql);
      server_rows.Write(sql);
      return absl::OkStatus();
    });
    if (!seeded.ok()) {
      std::cerr << seeded << "\n";
      return 1;
    }
    std::printf("seeded %d hosts and %d servers in %.1f s\n", hosts, hosts * per_host,
                absl::ToDoubleSeconds(absl::Now() - seeding));
    Fleet fleet{.hosts = hosts, .per_host = per_host};
    fleet.players.assign(static_cast<size_t>(hosts) * per_host, 1);
    Agents agents(fleet);
    HostMonitor monitor(stores.hosts, agents, clock,
                        {.interval = absl::Seconds(5), .grace = absl::Seconds(15)}, &stores.audit);
    Reconciler reconciler(stores, agents, {.interval = absl::Seconds(10)});
    // A first minute brings every row to its steady state (statuses, last_seen): not counted.
    auto round = [&](int second, double* reconcile_ms, double* monitor_ms, size_t* cursor) {
      if (second % 5 == 0) {
        const absl::Time started = absl::Now();
        monitor.Round();
        *monitor_ms = std::max(*monitor_ms, absl::ToDoubleMilliseconds(absl::Now() - started));
      }
      if (second % 10 == 0) {
        // This round's share of the minute's changes: a player joins somewhere.
        const size_t changes = static_cast<size_t>(fleet.players.size() * changed_pct / 100 / 6);
        for (size_t i = 0; i < changes; ++i) {
          ++fleet.players[*cursor];
          *cursor = (*cursor + 1) % fleet.players.size();
        }
        const absl::Time started = absl::Now();
        (void)reconciler.Round();
        *reconcile_ms = std::max(*reconcile_ms, absl::ToDoubleMilliseconds(absl::Now() - started));
      }
    };
    double reconcile_ms = 0, monitor_ms = 0;
    size_t cursor = 0;
    const double warm_pct = changed_pct;
    changed_pct = 0;
    for (int second = 0; second < 60; second += 5) {
      round(second, &reconcile_ms, &monitor_ms, &cursor);
      clock.Advance(absl::Seconds(5));
    }
    changed_pct = warm_pct;
    soci::session stats(soci::postgresql, conninfo + " dbname=" + name);
    std::this_thread::sleep_for(std::chrono::seconds(11));  // every session's counts flushed
    const std::map<std::string, int64_t> before = RowsWritten(stats);
    reconcile_ms = monitor_ms = 0;
    for (int second = 0; second < minutes * 60; second += 5) {
      round(second, &reconcile_ms, &monitor_ms, &cursor);
      clock.Advance(absl::Seconds(5));
    }
    std::this_thread::sleep_for(std::chrono::seconds(11));
    std::map<std::string, int64_t> after = RowsWritten(stats);
    const double seconds = minutes * 60.0;
    auto rate = [&](const std::string& table) {
      return static_cast<double>(after[table] - before.at(table)) / seconds;
    };
    std::printf(
        "%d hosts, %d servers, %d simulated minutes, %.1f%% of servers changing per minute:\n"
        "  rows written per second: servers %.2f, hosts %.2f, jobs %.2f, audit_log %.2f\n"
        "  (metric samples %.0f/s, rollups %.1f/s)\n"
        "  slowest round: reconciler %.0f ms, host health %.0f ms\n",
        hosts, hosts * per_host, minutes, changed_pct, rate("servers"), rate("hosts"), rate("jobs"),
        rate("audit_log"), rate("metric_samples"), rate("metric_rollups"), reconcile_ms,
        monitor_ms);
  }
  soci::session admin(soci::postgresql, conninfo + " dbname=postgres");
  admin << "DROP DATABASE IF EXISTS " << name;
  return status;
}

}  // namespace

int main(int argc, char** argv) {
  int hosts = 0, per_host = 0, minutes = 0;
  double changed = 0;
  if (argc < 5 || !absl::SimpleAtoi(argv[2], &hosts) || !absl::SimpleAtoi(argv[3], &per_host) ||
      !absl::SimpleAtoi(argv[4], &minutes) || hosts < 1 || per_host < 1 || per_host > 99 ||
      minutes < 1 || (argc > 5 && !absl::SimpleAtod(argv[5], &changed))) {
    std::cerr << "usage: l4d2_bench_s1 CONNINFO HOSTS SERVERS_PER_HOST MINUTES "
                 "[CHANGED_PERCENT_PER_MINUTE]\n";
    return 2;
  }
  return Run(argv[1], hosts, per_host, minutes, changed);
}
