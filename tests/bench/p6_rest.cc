// P6 (docs/benchmarks.md): the REST API under keep-alive load, beside a static answer of the
// same server (the framework's ceiling).
//
//   l4d2_bench_p6 [SECONDS] [SERVERS] [CONNECTIONS] [PAGE] [ONLY]
//
// In this process: the controller's HTTP API on a fresh SQLite file with SERVERS servers of
// one operator, authenticated by that operator's API token (as l4d2ctl and CI call it).
// CONNECTIONS client threads on keep-alive connections then send, each for SECONDS:
//   static   GET /healthz (public, no SQL): the framework's ceiling
//   get      GET /api/v1/servers/{id}
//   list     GET /api/v1/servers?limit=PAGE (a page of the SERVERS, read in SQL)
//   blueprints, overlays, tokens, jobs, audit, users, hosts  GET /api/v1/<list>?limit=PAGE: a
//            page of as many rows of each kind as SERVERS, paged in SQL too: the operator's own
//            blueprints, overlays and API tokens (at most 100: a user's limit); jobs and audit
//            entries of the operator's servers;
//            users and hosts (admins' lists, asked with an admin's token)
// (ONLY: those named, comma-separated) and print requests per second and latency percentiles.
// Clients and server share the machine's cores, as a benchmark on one machine must.
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/clock.h"
#include "common/lock_checks.h"
#include "common/logging.h"
#include "controller/api/controller_api.h"
#include "controller/jobs/agent_connector.h"
#include "controller/store/migrations.h"
#include "tests/bench/http_load.h"

namespace {

using namespace l4d2::controller;
using l4d2::bench::Hammer;
using l4d2::bench::Result;

std::string only;

void Run(const char* name, int port, const std::string& path, const std::string& token,
         int connections, absl::Duration duration) {
  if (!only.empty() &&
      !absl::StrContains(absl::StrCat(",", only, ","), absl::StrCat(",", name, ","))) {
    return;
  }
  const std::string request =
      absl::StrCat("GET ", path,
                   " HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                   "Connection: keep-alive\r\n",
                   token.empty() ? "" : "Authorization: Bearer " + token + "\r\n", "\r\n");
  std::vector<Result> results(connections);
  std::vector<std::thread> threads;
  const absl::Time start = absl::Now();
  const absl::Time deadline = start + duration;
  for (int i = 0; i < connections; ++i) {
    threads.emplace_back([&, i] { results[i] = Hammer(port, request, deadline); });
  }
  for (std::thread& thread : threads) thread.join();
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  Result all;
  for (Result& r : results) {
    all.requests += r.requests;
    all.failures += r.failures;
    all.latencies_ms.insert(all.latencies_ms.end(), r.latencies_ms.begin(), r.latencies_ms.end());
  }
  std::sort(all.latencies_ms.begin(), all.latencies_ms.end());
  auto percentile = [&](double p) {
    if (all.latencies_ms.empty()) return 0.0;
    return all.latencies_ms[std::min(all.latencies_ms.size() - 1,
                                     static_cast<size_t>(p * all.latencies_ms.size()))];
  };
  std::printf("%-7s %-40s %9.0f req/s   p50 %6.2f ms   p99 %6.2f ms   failures %lld\n", name,
              path.c_str(), all.requests / seconds, percentile(0.5), percentile(0.99),
              static_cast<long long>(all.failures));
}

}  // namespace

int main(int argc, char** argv) {
  l4d2::DisableLockOrderChecks();  // As the binaries do (and for the peer alike).
  int seconds = argc > 1 ? std::atoi(argv[1]) : 10;
  int servers = argc > 2 ? std::atoi(argv[2]) : 1000;
  int connections = argc > 3 ? std::atoi(argv[3]) : 32;
  int page = argc > 4 ? std::atoi(argv[4]) : 100;
  if (argc > 5) only = argv[5];
  l4d2::SetMinLogSeverity(l4d2::LogSeverity::kWarning);
  char dir[] = "/tmp/l4d2-p6-XXXXXX";
  if (mkdtemp(dir) == nullptr) return 1;
  l4d2::Clock& clock = l4d2::Clock::Real();
  auto db = Database::Open({.url = absl::StrCat("sqlite3:", dir, "/c.db"), .pool_size = 8});
  if (!db.ok() || !ApplyMigrations(**db, ControllerMigrations(), clock).ok()) return 1;
  FleetStores stores(**db, clock);
  PlaintextAgentConnector agents;
  auto api = ControllerApi::Start(
      **db, stores, agents, clock,
      // One client address: no per-address limits (they would
      // refuse the unauthenticated /healthz run).
      {.http = {.address = "127.0.0.1:0",
                .threads = 2,
                .workers = 4,
                .addresses = {.max_connections = 0, .unauthenticated_per_second = 0}},
       .password_cost = PasswordCost::Minimal()});
  if (!api.ok()) return 1;
  auto alice = (*api)->users().Create("alice", "alice's long password", Role::kOperator);
  const Actor actor = Actor::Operator(alice->id);
  BlueprintInput input{.name = "versus"};
  input.settings.set_game_mode("versus");
  auto blueprint = stores.blueprints.Create(actor, input);
  std::string first;
  for (int i = 0; i < servers; ++i) {
    auto server = stores.servers.Create(actor, absl::StrCat("server-", i), blueprint->id,
                                        DesiredState::kStopped);
    if (!server.ok()) return 1;
    if (i == 0) first = server->id;
  }
  l4d2::agent::v1::SyncOverlayRequest source;
  source.mutable_inline_files()->add_files()->set_path("left4dead2/cfg/a.cfg");
  for (int i = 1; i < servers; ++i) {
    if (!stores.blueprints.Create(actor, {.name = absl::StrCat("blueprint-", i)}).ok()) return 1;
  }
  for (int i = 0; i < servers; ++i) {
    if (!stores.overlays.Create(actor, absl::StrCat("u-alice/overlay-", i), false, source).ok()) {
      return 1;
    }
  }
  ApiTokenStore tokens(**db, clock);
  // A user holds at most kMaxTokensPerUser live tokens: the tokens list is that long at most.
  for (int i = 1; i < std::min(servers, ApiTokenStore::kMaxTokensPerUser - 1); ++i) {
    std::string unused;
    if (!tokens.Create(actor, absl::StrCat("token-", i), {"read"}, &unused).ok()) return 1;
  }
  for (int i = 0; i < servers; ++i) {
    if (!stores.jobs
             .Enqueue({.kind = "server.start",
                       .lock_key = absl::StrCat("bench:", i),
                       .params = "{}",
                       .created_by = actor.Name()})
             .ok() ||
        !stores.audit.Append(actor.Name(), "server.start", first, "{}", actor.user_id).ok()) {
      return 1;
    }
  }
  auto root = (*api)->users().Create("root", "root's long enough password", Role::kAdmin);
  if (!root.ok()) return 1;
  for (int i = 2; i < servers; ++i) {
    if (!(*api)
             ->users()
             .Create(absl::StrCat("user-", i), "a long enough password", Role::kOperator)
             .ok()) {
      return 1;
    }
  }
  for (int i = 0; i < servers; ++i) {
    if (!stores.hosts
             .Create({.name = absl::StrCat("host-", i), .address = "10.0.0.1:7543"}, absl::Hours(1))
             .ok()) {
      return 1;
    }
  }
  std::string secret, admin_secret;
  if (!tokens.Create(actor, "bench", {"read"}, &secret).ok()) return 1;
  if (!tokens.Create(Actor::Admin(root->id), "bench", {"read"}, &admin_secret).ok()) return 1;
  std::printf("P6: %d servers, %d keep-alive connections, %d s each, page %d\n", servers,
              connections, seconds, page);
  const int port = (*api)->port();
  Run("static", port, "/healthz", "", connections, absl::Seconds(seconds));
  Run("get", port, "/api/v1/servers/" + first, secret, connections, absl::Seconds(seconds));
  Run("list", port, absl::StrCat("/api/v1/servers?limit=", page), secret, connections,
      absl::Seconds(seconds));
  Run("blueprints", port, absl::StrCat("/api/v1/blueprints?limit=", page), secret, connections,
      absl::Seconds(seconds));
  Run("overlays", port, absl::StrCat("/api/v1/overlays?limit=", page), secret, connections,
      absl::Seconds(seconds));
  for (const char* list : {"tokens", "jobs", "audit"}) {
    Run(list, port, absl::StrCat("/api/v1/", list, "?limit=", page), secret, connections,
        absl::Seconds(seconds));
  }
  for (const char* list : {"users", "hosts"}) {
    Run(list, port, absl::StrCat("/api/v1/", list, "?limit=", page), admin_secret, connections,
        absl::Seconds(seconds));
  }
  (*api)->Stop();
  std::filesystem::remove_all(dir);
  return 0;
}
