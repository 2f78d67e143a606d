// S2 (docs/benchmarks.md, Scale): the API on the database of a fleet that ran for a year,
// beside the same routes on a young one.
//
//   l4d2_bench_s2 DATABASE SCALE [SECONDS_PER_ROUTE]
//
// DATABASE: "sqlite" (a file in /tmp) or a libpq conninfo of a PostgreSQL server where the
// bench may create a database (tests/pg/start --env prints one as L4D2_TEST_POSTGRES).
// SCALE 1: a year of a 100-host fleet, straight into SQL: 100 hosts, 2,000 servers of 20
// operators, 2,000,000 jobs over the year (every tenth with two events), 5,000,000 audit
// entries over the year, an hour of samples of every server and the whole metric retention
// (a day of samples, a week of minutes, 90 days of ten minutes) of 20 of them; 0.1 for a
// tenth of the rows. Then, on one keep-alive connection, each GET route for
// SECONDS_PER_ROUTE (default 2) as an operator and as an admin: p50 and p99, beside the same
// route on a young database (the same users, a blueprint, 20 servers, a host, 20 jobs).
// Last, retention's first pass over the year (controller/store/retention.h), the database's
// size before and after it, and the routes again on what it kept.
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/clock.h"
#include "common/lock_checks.h"
#include "common/logging.h"
#include "common/status_macros.h"
#include "controller/api/controller_api.h"
#include "controller/jobs/agent_connector.h"
#include "controller/store/api_tokens.h"
#include "controller/store/fleet_counts.h"
#include "controller/store/migrations.h"
#include "controller/store/retention.h"
#include "controller/store/row_batch.h"
#include "soci/postgresql/soci-postgresql.h"
#include "soci/soci.h"
#include "tests/bench/bench_database.h"
#include "tests/bench/http_load.h"

namespace {

using namespace l4d2::controller;

constexpr int64_t kDayMs = 86'400'000;

struct Fleet {
  std::string operator_token, admin_token;
  std::string server, job;  // an operator's server and one of its jobs
};

// Users, a blueprint and the operator's first server, as the API would make them.
absl::StatusOr<Fleet> Basics(ControllerApi& api, FleetStores& stores, Database& db,
                             l4d2::Clock& clock, int servers) {
  Fleet fleet;
  auto alice = api.users().Create("alice", "alice's long password", Role::kOperator);
  auto root = api.users().Create("root", "root's long enough password", Role::kAdmin);
  if (!alice.ok() || !root.ok()) return absl::InternalError("users");
  const Actor actor = Actor::Operator(alice->id);
  BlueprintInput input{.name = "versus"};
  input.settings.set_game_mode("versus");
  auto blueprint = stores.blueprints.Create(actor, input);
  if (!blueprint.ok()) return blueprint.status();
  for (int i = 0; i < servers; ++i) {
    auto server = stores.servers.Create(actor, absl::StrFormat("a-%05d", i), blueprint->id,
                                        DesiredState::kRunning);
    if (!server.ok()) return server.status();
    if (i == 0) fleet.server = server->id;
  }
  auto job = stores.jobs.Enqueue({.kind = "server.start",
                                  .lock_key = "server:" + fleet.server,
                                  .params = "{}",
                                  .created_by = actor.Name()});
  if (!job.ok()) return job.status();
  fleet.job = *job;
  (void)stores.jobs.AppendEvent(fleet.job, "log", "\"started\"");
  ApiTokenStore tokens(db, clock);
  if (!tokens.Create(actor, "bench", {"read"}, &fleet.operator_token).ok() ||
      !tokens.Create(Actor::Admin(root->id), "bench", {"read"}, &fleet.admin_token).ok()) {
    return absl::InternalError("tokens");
  }
  return fleet;
}

// A year of a fleet of `hosts` hosts, `servers` servers of 20 operators (alice's among them),
// `jobs` jobs and `audit` audit entries, straight into SQL.
absl::Status Seed(Database& db, FleetStores& stores, l4d2::Clock& clock, const Fleet& fleet,
                  int hosts, int servers, int64_t jobs, int64_t audit) {
  const int64_t now = absl::ToUnixMillis(clock.Now());
  const int64_t year = 365 * kDayMs;
  std::string alice, blueprint;
  L4D2_RETURN_IF_ERROR(db.WithSession([&](soci::session& sql) {
    sql << "SELECT owner_id, blueprint_id FROM servers WHERE id = :id", soci::use(fleet.server),
        soci::into(alice), soci::into(blueprint);
    return absl::OkStatus();
  }));
  std::vector<std::string> owners = {alice};
  for (int o = 1; o < 20; ++o) owners.push_back(absl::StrFormat("u%019d", o));
  std::vector<std::string> server_ids;
  L4D2_RETURN_IF_ERROR(db.Transact([&](soci::session& sql) {
    RowBatch users(
        "INSERT INTO users (id, username, password_hash, role, created_at_ms,"
        " updated_at_ms)",
        6);
    for (int o = 1; o < 20; ++o) {
      users.Add({owners[o], absl::StrCat("op", o), "x", "operator", now - year, now - year});
    }
    users.Write(sql);
    RowBatch blueprints(
        "INSERT INTO blueprints (id, owner_id, name, settings, created_at_ms,"
        " updated_at_ms)",
        6);
    for (int o = 1; o < 20; ++o) {
      blueprints.Add({absl::StrCat("b", o), owners[o], "coop", "{}", now - year, now - year});
    }
    blueprints.Write(sql);
    RowBatch host_rows(
        "INSERT INTO hosts (id, name, address, state, max_instances, port_first,"
        " port_last, installed_build, last_seen_ms, created_at_ms)",
        10);
    for (int h = 0; h < hosts; ++h) {
      host_rows.Add({absl::StrCat("h", h), absl::StrFormat("host-%03d", h), "10.0.0.1:7543",
                     "ready", int64_t{40}, int64_t{27015}, int64_t{27054}, "9000001", now,
                     now - year});
    }
    host_rows.Write(sql);
    RowBatch rows(
        "INSERT INTO servers (id, owner_id, name, blueprint_id, host_id, port,"
        " desired_state, actual_state, status, status_at_ms, created_at_ms,"
        " updated_at_ms, players)",
        13);
    for (int i = 0; i < servers; ++i) {
      const int o = i % 20;
      server_ids.push_back(absl::StrFormat("y%011d", i));
      rows.Add({server_ids.back(), owners[o], absl::StrFormat("s-%05d", i),
                o == 0 ? blueprint : absl::StrCat("b", o), absl::StrCat("h", i % hosts),
                int64_t{27015 + i / hosts}, "running", i % 10 ? "running" : "stopped", "",
                now - kDayMs, now - year, now - year, int64_t{i % 9}});
    }
    rows.Write(sql);
    return absl::OkStatus();
  }));
  const char* kinds[] = {"server.start", "server.stop", "server.restart", "overlay.sync",
                         "server.create"};
  const char* states[] = {"succeeded", "succeeded", "succeeded", "failed", "cancelled"};
  constexpr int64_t kChunk = 50'000;
  for (int64_t first = 0; first < jobs; first += kChunk) {
    L4D2_RETURN_IF_ERROR(db.Transact([&](soci::session& sql) {
      RowBatch job_rows(
          "INSERT INTO jobs (id, kind, state, lock_key, params, max_attempts,"
          " not_before_ms, created_by, created_at_ms, finished_at_ms, owner_id)",
          11);
      RowBatch events("INSERT INTO job_events (job_id, seq, at_ms, kind, data)", 5);
      for (int64_t j = first; j < std::min(jobs, first + kChunk); ++j) {
        const int64_t at = now - year + year * j / jobs;
        const std::string id = absl::StrFormat("%016x%08x%08x", at * 1000, j, 0);
        const size_t server = static_cast<size_t>(j) % server_ids.size();
        job_rows.Add({id, kinds[j % 5], states[j % 5], "server:" + server_ids[server],
                      "{\"stagger\":0}", int64_t{5}, at,
                      j % 3 ? "system" : "user:" + owners[server % 20], at, at + 2000,
                      owners[server % 20]});
        if (j % 10 == 0) {
          events.Add({id, int64_t{1}, at, "log", "\"placing the server\""});
          events.Add({id, int64_t{2}, at + 2000, "state", "\"succeeded\""});
        }
      }
      job_rows.Write(sql);
      events.Write(sql);
      return absl::OkStatus();
    }));
  }
  for (int64_t first = 0; first < audit; first += kChunk) {
    L4D2_RETURN_IF_ERROR(db.Transact([&](soci::session& sql) {
      RowBatch rows(
          "INSERT INTO audit_log (id, at_ms, actor_id, action, target, detail,"
          " owner_id)",
          7);
      for (int64_t a = first; a < std::min(audit, first + kChunk); ++a) {
        const int64_t at = now - year + year * a / audit;
        const size_t server = static_cast<size_t>(a) % server_ids.size();
        rows.Add({absl::StrFormat("a%016x%08x%08x", at * 1000, a, 0), at,
                  a % 4 ? "user:" + owners[server % 20] : "system",
                  a % 2 ? "server.restart" : "server.console", server_ids[server],
                  "{\"name\":\"s\"}", owners[server % 20]});
      }
      rows.Write(sql);
      return absl::OkStatus();
    }));
  }
  // Samples: an hour of every server; the whole retention of 20 servers (alice's first one).
  L4D2_RETURN_IF_ERROR(db.Transact([&](soci::session& sql) {
    RowBatch samples(
        "INSERT INTO metric_samples (server_id, at_ms, players, cpu_millis,"
        " memory_bytes, latency_us)",
        6);
    for (size_t i = 0; i < server_ids.size(); ++i) {
      for (int64_t t = now - 3'600'000; t < now; t += 10'000) {
        samples.Add({server_ids[i], t, static_cast<int64_t>(i % 9), t / 100, int64_t{1} << 30,
                     int64_t{900}});
      }
    }
    for (int64_t t = now - kDayMs; t < now; t += 10'000) {
      samples.Add({fleet.server, t, int64_t{4}, t / 100, int64_t{1} << 30, int64_t{900}});
    }
    samples.Write(sql);
    RowBatch rollups(
        "INSERT INTO metric_rollups (server_id, step_s, at_ms, players,"
        " cpu_millis, memory_bytes)",
        6);
    std::vector<std::string> kept(server_ids.begin(),
                                  server_ids.begin() + std::min<size_t>(19, server_ids.size()));
    kept.push_back(fleet.server);
    for (const std::string& id : kept) {
      for (int64_t t = (now - 7 * kDayMs) / 60'000 * 60'000; t < now - 3'600'000; t += 60'000) {
        rollups.Add({id, int64_t{60}, t, int64_t{5}, t / 100, int64_t{1} << 30});
      }
      for (int64_t t = (now - 90 * kDayMs) / 600'000 * 600'000; t < now - 3'600'000; t += 600'000) {
        rollups.Add({id, int64_t{600}, t, int64_t{5}, t / 100, int64_t{1} << 30});
      }
    }
    rollups.Write(sql);
    return absl::OkStatus();
  }));
  L4D2_RETURN_IF_ERROR(stores.metrics.Maintain());
  // The job counts the jobs' triggers left, folded as the reconciler does every round.
  L4D2_RETURN_IF_ERROR(FoldJobCounts(db));
  // What `PRAGMA optimize` and autovacuum do in production.
  return db.WithSession([&](soci::session& sql) {
    sql << "ANALYZE";
    return absl::OkStatus();
  });
}

using Timing = l4d2::bench::RouteTiming;

// The routes timed: (name, path, admin only).
std::vector<std::tuple<std::string, std::string, bool>> Routes(const Fleet& fleet) {
  const std::string s = "/api/v1/servers/" + fleet.server;
  return {{"servers", "/api/v1/servers", false},
          {"servers?actual_state", "/api/v1/servers?actual_state=stopped", false},
          {"server", s, false},
          {"server metrics 1h", s + "/metrics", false},
          {"server metrics 7d",
           s + "/metrics?from=" +
               absl::FormatTime(absl::RFC3339_full, absl::Now() - absl::Hours(24 * 7),
                                absl::UTCTimeZone()),
           false},
          {"jobs", "/api/v1/jobs", false},
          {"jobs?kind", "/api/v1/jobs?kind=server.stop", false},
          {"jobs?state", "/api/v1/jobs?state=failed", false},
          {"jobs?server_id", "/api/v1/jobs?server_id=" + fleet.server, false},
          {"job", "/api/v1/jobs/" + fleet.job, false},
          {"job events", "/api/v1/jobs/" + fleet.job + "/events", false},
          {"audit", "/api/v1/audit", false},
          {"audit?target", "/api/v1/audit?target=" + fleet.server, false},
          {"audit?action", "/api/v1/audit?action=server.restart", false},
          {"blueprints", "/api/v1/blueprints", false},
          {"overlays", "/api/v1/overlays", false},
          {"tokens", "/api/v1/tokens", false},
          {"summary", "/api/v1/summary", false},
          {"hosts", "/api/v1/hosts", true},
          {"users", "/api/v1/users", true},
          {"/metrics", "/metrics", true}};
}

using Timings = std::map<std::pair<std::string, std::string>, Timing>;  // (route, as)

absl::StatusOr<Timings> Measure(BenchDatabase& where, double scale, absl::Duration per_route,
                                bool seeded) {
  l4d2::Clock& clock = l4d2::Clock::Real();
  where.Create();
  Timings timings;
  {
    auto db = Database::Open({.url = where.Url(), .pool_size = 8});
    if (!db.ok()) return db.status();
    L4D2_RETURN_IF_ERROR(ApplyMigrations(**db, ControllerMigrations(), clock));
    FleetStores stores(**db, clock);
    PlaintextAgentConnector agents;
    auto api = ControllerApi::Start(
        **db, stores, agents, clock,
        {.http = {.address = "127.0.0.1:0",
                  .threads = 2,
                  .workers = 4,
                  .addresses = {.max_connections = 0, .unauthenticated_per_second = 0}},
         .password_cost = PasswordCost::Minimal()});
    if (!api.ok()) return api.status();
    L4D2_ASSIGN_OR_RETURN(Fleet fleet, Basics(**api, stores, **db, clock, seeded ? 1 : 20));
    if (seeded) {
      const absl::Time started = absl::Now();
      L4D2_RETURN_IF_ERROR(Seed(**db, stores, clock, fleet, static_cast<int>(100 * scale) + 1,
                                static_cast<int>(2000 * scale),
                                static_cast<int64_t>(2'000'000 * scale),
                                static_cast<int64_t>(5'000'000 * scale)));
      std::printf("seeded in %.0f s: %.0f MB\n", absl::ToDoubleSeconds(absl::Now() - started),
                  where.Size(**db) / 1e6);
    }
    auto time_routes = [&](const std::string& suffix) {
      for (const auto& [name, path, admin_only] : Routes(fleet)) {
        for (const bool admin : {false, true}) {
          if (admin_only && !admin) continue;
          timings[{name, std::string(admin ? "admin" : "operator") + suffix}] =
              l4d2::bench::TimeRoute((*api)->port(), path,
                                     admin ? fleet.admin_token : fleet.operator_token, per_route);
        }
      }
    };
    time_routes("");
    if (seeded) {
      const int64_t before = where.Size(**db);
      Retention retention(**db, clock, {});
      const absl::Time started = absl::Now();
      absl::StatusOr<PruneCounts> pruned = retention.Prune();
      if (!pruned.ok()) return pruned.status();
      // The reconciler folds the counts the deletes changed every round while a pass runs.
      L4D2_RETURN_IF_ERROR(FoldJobCounts(**db));
      if (!where.conninfo.empty()) {
        (void)(*db)->WithSession([](soci::session& sql) {
          sql << "VACUUM";
          return absl::OkStatus();
        });
      }
      std::printf(
          "retention's first pass: %lld jobs, %lld job events, %lld audit entries pruned in "
          "%.0f s; database %.0f MB before, %.0f MB after%s\n",
          static_cast<long long>(pruned->jobs), static_cast<long long>(pruned->job_events),
          static_cast<long long>(pruned->audit), absl::ToDoubleSeconds(absl::Now() - started),
          before / 1e6, where.Size(**db) / 1e6,
          where.conninfo.empty() ? " (pages in use)" : " (after VACUUM)");
      time_routes(" pruned");
    }
    (*api)->Stop();
  }
  where.Drop();
  return timings;
}

}  // namespace

int main(int argc, char** argv) {
  l4d2::DisableLockOrderChecks();
  double scale = 0;
  int seconds = 2;
  if (argc < 3 || !absl::SimpleAtod(argv[2], &scale) || scale <= 0 || scale > 1 ||
      (argc > 3 && !absl::SimpleAtoi(argv[3], &seconds))) {
    std::cerr << "usage: l4d2_bench_s2 sqlite|CONNINFO SCALE(0-1] [SECONDS_PER_ROUTE]\n";
    return 2;
  }
  l4d2::SetMinLogSeverity(l4d2::LogSeverity::kWarning);
  const std::string target = argv[1];
  char dir[] = "/tmp/l4d2-s2-XXXXXX";
  if (mkdtemp(dir) == nullptr) return 1;
  BenchDatabase young{.conninfo = target == "sqlite" ? "" : target,
                      .name = absl::StrCat("l4d2_s2_young_", getpid()),
                      .dir = dir};
  BenchDatabase year = young;
  year.name = absl::StrCat("l4d2_s2_year_", getpid());
  absl::StatusOr<Timings> empty = Measure(young, scale, absl::Seconds(seconds), false);
  absl::StatusOr<Timings> full = Measure(year, scale, absl::Seconds(seconds), true);
  std::filesystem::remove_all(dir);
  if (!empty.ok() || !full.ok()) {
    std::cerr << (empty.ok() ? full.status() : empty.status()) << "\n";
    return 1;
  }
  std::printf("%-22s %-8s  %-17s  %-17s  %-9s  %-17s\n", "route", "as", "young p50/p99 ms",
              "a year p50/p99 ms", "p99 ratio", "pruned p50/p99 ms");
  for (const auto& [key, before] : *empty) {
    const Timing& year = full->at(key);
    const Timing& pruned = full->at({key.first, key.second + " pruned"});
    std::printf("%-22s %-8s  %6.2f / %6.2f    %6.2f / %6.2f    %5.1fx     %6.2f / %6.2f%s\n",
                key.first.c_str(), key.second.c_str(), before.p50, before.p99, year.p50, year.p99,
                year.p99 / std::max(before.p99, 0.001), pruned.p50, pruned.p99,
                year.failures + before.failures + pruned.failures > 0 ? "  (failures)" : "");
  }
  return 0;
}
