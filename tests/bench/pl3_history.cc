// PL3 (docs/benchmarks.md, Players): the player history's routes on a million sessions.
//
//   l4d2_bench_pl3 DATABASE [SESSIONS] [SECONDS_PER_ROUTE]
//
// DATABASE: "sqlite" (a file in /tmp) or a libpq conninfo (tests/pg/start --env). Seeds, straight
// into SQL as the player feed writes them: 500 servers of two operators, SESSIONS sessions
// (default 1,000,000) over 90 days by 100,000 players, each with its join and leave on the
// servers' timelines, the players' rows and the servers' cursors. One player is a regular (1%
// of the sessions) and one server is busy (5%). Then, on one keep-alive connection, each route
// for SECONDS_PER_ROUTE (default 2) as the busy server's operator and as an admin: p50, p99.
#include <unistd.h>

#include <cstdio>
#include <iostream>

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
#include "controller/store/migrations.h"
#include "controller/store/row_batch.h"
#include "tests/bench/bench_database.h"
#include "tests/bench/http_load.h"

namespace {

using namespace l4d2::controller;

constexpr int kServers = 500;
constexpr int64_t kPlayers = 100'000;
constexpr int64_t kFirstSteamId = 76561197960265728;
constexpr int64_t kRegular = kFirstSteamId + 4242;

struct Seeded {
  std::string busy_server;
  std::string operator_token, admin_token;
};

absl::StatusOr<Seeded> Seed(ControllerApi& api, FleetStores& stores, Database& db,
                            l4d2::Clock& clock, int64_t sessions) {
  Seeded seeded;
  std::vector<Actor> owners;
  for (const char* name : {"alice", "bob"}) {
    auto user = api.users().Create(name, "a long enough password", Role::kOperator);
    if (!user.ok()) return user.status();
    owners.push_back(Actor::Operator(user->id));
  }
  auto root = api.users().Create("root", "root's long enough password", Role::kAdmin);
  if (!root.ok()) return root.status();
  std::vector<std::string> servers;
  for (int o = 0; o < 2; ++o) {
    BlueprintInput input{.name = "coop"};
    input.settings.set_game_mode("coop");
    auto blueprint = stores.blueprints.Create(owners[o], input);
    if (!blueprint.ok()) return blueprint.status();
    for (int i = o; i < kServers; i += 2) {
      auto server = stores.servers.Create(owners[o], absl::StrFormat("srv-%04d", i), blueprint->id,
                                          DesiredState::kRunning);
      if (!server.ok()) return server.status();
      servers.push_back(server->id);
    }
  }
  seeded.busy_server = servers[0];  // alice's
  const int64_t now = absl::ToUnixMillis(clock.Now());
  const int64_t span = 90 * int64_t{86'400'000};
  constexpr int64_t kChunk = 50'000;
  for (int64_t first = 0; first < sessions; first += kChunk) {
    L4D2_RETURN_IF_ERROR(db.Transact([&](soci::session& sql) {
      RowBatch rows(
          "INSERT INTO player_sessions (id, server_id, steam_id, user_id, name, joined_at_ms,"
          " left_at_ms, reason)",
          8);
      RowBatch events(
          "INSERT INTO player_events (id, server_id, at_ms, kind, steam_id, name, text)", 7);
      for (int64_t p = first; p < std::min(sessions, first + kChunk); ++p) {
        const int64_t player = p % 100 == 0 ? kRegular : kFirstSteamId + (p * 7919) % kPlayers;
        const std::string& server = p % 20 == 0 ? servers[0] : servers[p % kServers];
        const int64_t joined = now - span + p * span / sessions;
        const int64_t left = joined + 1'800'000;
        const std::string steam = absl::StrCat(player);
        const std::string name = absl::StrCat("player", player - kFirstSteamId);
        rows.Add({absl::StrFormat("%016x%08x", joined * 1000, p), server, steam, int64_t{p % 32},
                  name, joined, left, "Disconnect by user."});
        events.Add({absl::StrFormat("%016x%08xa", joined * 1000, p), server, joined, "joined",
                    steam, name, ""});
        events.Add({absl::StrFormat("%016x%08xb", left * 1000, p), server, left, "left", steam,
                    name, "Disconnect by user."});
      }
      rows.Write(sql);
      events.Write(sql);
      return absl::OkStatus();
    }));
  }
  L4D2_RETURN_IF_ERROR(db.Transact([&](soci::session& sql) {
    RowBatch players(
        "INSERT INTO players (steam_id, name, name_key, first_seen_ms, last_seen_ms, sessions,"
        " seconds)",
        7);
    for (int64_t p = 0; p < kPlayers; ++p) {
      players.Add({absl::StrCat(kFirstSteamId + p), absl::StrCat("Player", p),
                   absl::StrCat("player", p), now - span, now, sessions / kPlayers,
                   sessions / kPlayers * 1800});
    }
    players.Write(sql);
    RowBatch logs(
        "INSERT INTO server_game_logs (server_id, epoch, seq, map, update_required, players,"
        " sessions_started, updated_at_ms)",
        8);
    for (size_t i = 0; i < servers.size(); ++i) {
      logs.Add({servers[i], int64_t{1}, int64_t{1000}, "c1m1_hotel", int64_t{i % 9 == 0},
                int64_t(i % 5), sessions / kServers, now});
    }
    logs.Write(sql);
    sql << "ANALYZE";
    return absl::OkStatus();
  }));
  ApiTokenStore tokens(db, clock);
  if (!tokens.Create(owners[0], "bench", {"read"}, &seeded.operator_token).ok() ||
      !tokens.Create(Actor::Admin(root->id), "bench", {"read"}, &seeded.admin_token).ok()) {
    return absl::InternalError("tokens");
  }
  return seeded;
}

}  // namespace

int main(int argc, char** argv) {
  l4d2::DisableLockOrderChecks();
  int64_t sessions = 1'000'000;
  int seconds = 2;
  if (argc < 2 || (argc > 2 && (!absl::SimpleAtoi(argv[2], &sessions) || sessions < 1000)) ||
      (argc > 3 && !absl::SimpleAtoi(argv[3], &seconds))) {
    std::cerr << "usage: l4d2_bench_pl3 sqlite|CONNINFO [SESSIONS] [SECONDS_PER_ROUTE]\n";
    return 2;
  }
  l4d2::SetMinLogSeverity(l4d2::LogSeverity::kWarning);
  const std::string target = argv[1];
  char dir[] = "/tmp/l4d2-pl3-XXXXXX";
  if (mkdtemp(dir) == nullptr) return 1;
  BenchDatabase where{.conninfo = target == "sqlite" ? "" : target,
                      .name = absl::StrCat("l4d2_pl3_", getpid()),
                      .dir = dir};
  where.Create();
  int failed = 0;
  {
    l4d2::Clock& clock = l4d2::Clock::Real();
    auto db = Database::Open({.url = where.Url(), .pool_size = 8});
    if (!db.ok() || !ApplyMigrations(**db, ControllerMigrations(), clock).ok()) return 1;
    FleetStores stores(**db, clock);
    PlaintextAgentConnector agents;
    auto api = ControllerApi::Start(
        **db, stores, agents, clock,
        {.http = {.address = "127.0.0.1:0",
                  .threads = 2,
                  .workers = 4,
                  .addresses = {.max_connections = 0, .unauthenticated_per_second = 0}},
         .password_cost = PasswordCost::Minimal()});
    if (!api.ok()) return 1;
    const absl::Time started = absl::Now();
    absl::StatusOr<Seeded> seeded = Seed(**api, stores, **db, clock, sessions);
    if (!seeded.ok()) {
      std::cerr << seeded.status() << "\n";
      return 1;
    }
    std::printf("%s: %lld sessions seeded in %.0f s: %.0f MB\n", (*db)->backend_name(),
                static_cast<long long>(sessions), absl::ToDoubleSeconds(absl::Now() - started),
                where.Size(**db) / 1e6);
    const std::string server = "/api/v1/servers/" + seeded->busy_server;
    const auto day = [](int days_ago) {
      return absl::FormatTime(absl::RFC3339_full, absl::Now() - absl::Hours(24 * days_ago),
                              absl::UTCTimeZone());
    };
    const std::vector<std::pair<std::string, std::string>> routes = {
        {"a regular's sessions", absl::StrCat("/api/v1/players/", kRegular)},
        {"a server yesterday", server + "/sessions?from=" + day(2) + "&to=" + day(1)},
        {"players?q= (prefix)", "/api/v1/players?q=player42"},
        {"players?q= (SteamID)", absl::StrCat("/api/v1/players?q=", kFirstSteamId + 77)},
        {"a server's timeline", server + "/timeline"},
        {"a server's players", server + "/players"},
        {"/metrics", "/metrics"},
    };
    std::printf("%-24s %-8s %10s %10s %9s\n", "route", "as", "p50 ms", "p99 ms", "requests");
    for (const auto& [name, path] : routes) {
      for (const bool admin : {false, true}) {
        if (path == "/metrics" && !admin) continue;
        const l4d2::bench::RouteTiming timing = l4d2::bench::TimeRoute(
            (*api)->port(), path, admin ? seeded->admin_token : seeded->operator_token,
            absl::Seconds(seconds));
        failed += timing.failures > 0;
        std::printf("%-24s %-8s %10.2f %10.2f %9lld%s\n", name.c_str(),
                    admin ? "admin" : "operator", timing.p50, timing.p99,
                    static_cast<long long>(timing.requests),
                    timing.failures > 0 ? "  (failures)" : "");
      }
    }
    (*api)->Stop();
  }
  where.Drop();
  std::filesystem::remove_all(dir);
  return failed > 0 ? 1 : 0;
}
