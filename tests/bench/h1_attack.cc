// H1 (docs/benchmarks.md): the API under an oversized-request attack, beside itself at rest.
//
//   l4d2_bench_h1 [SECONDS] [BODY_ATTACKERS] [HEADER_ATTACKERS]
//
// In this process: the controller's HTTP API (2 reactors, 4 workers, default limits) on a fresh
// SQLite file with 1,000 servers of one operator. A probe sends GET /healthz and an
// authenticated GET /api/v1/servers?limit=20, each on a fresh connection, every 100 ms: first
// for SECONDS with no attack, then for SECONDS while BODY_ATTACKERS clients (8) stream 50 MB
// bodies at the sign-in route and HEADER_ATTACKERS clients (8) send 2 MB headers, each
// reconnecting as soon as it is cut off (at nice 19: their CPU is not the server's in a real
// attack, while on this machine they share its cores). Prints the probe's p50/p99/max in both
// phases, and for the attackers how many were answered and how long after their head (p50/p99/max),
// and how many were closed.
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/clock.h"
#include "common/lock_checks.h"
#include "common/logging.h"
#include "controller/api/controller_api.h"
#include "controller/jobs/agent_connector.h"
#include "controller/store/migrations.h"

namespace {

using namespace l4d2::controller;

int Connect(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    close(fd);
    return -1;
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  return fd;
}

// One request on a fresh connection; its latency in ms, or -1.
double Probe(int port, const std::string& request) {
  const absl::Time start = absl::Now();
  const int fd = Connect(port);
  if (fd < 0) return -1;
  if (send(fd, request.data(), request.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(request.size())) {
    close(fd);
    return -1;
  }
  // Read up to the end of the body its Content-Length announces (the server may keep the
  // connection open).
  std::string response;
  char buffer[65536];
  size_t complete = std::string::npos;
  while (complete == std::string::npos || response.size() < complete) {
    pollfd ready{.fd = fd, .events = POLLIN, .revents = 0};
    if (poll(&ready, 1, 5000) <= 0) break;
    const ssize_t n = recv(fd, buffer, sizeof(buffer), 0);
    if (n <= 0) break;
    response.append(buffer, static_cast<size_t>(n));
    const size_t head_end = response.find("\r\n\r\n");
    const size_t length_at = response.find("Content-Length: ");
    if (head_end != std::string::npos && length_at != std::string::npos && length_at < head_end) {
      complete = head_end + 4 + std::strtoul(response.c_str() + length_at + 16, nullptr, 10);
    }
  }
  close(fd);
  if (response.rfind("HTTP/1.1 200", 0) != 0) return -1;
  return absl::ToDoubleMilliseconds(absl::Now() - start);
}

struct Percentiles {
  double p50 = 0, p99 = 0, max = 0;
};
Percentiles Of(std::vector<double> values) {
  if (values.empty()) return {};
  std::sort(values.begin(), values.end());
  return {values[values.size() / 2], values[std::min(values.size() - 1, values.size() * 99 / 100)],
          values.back()};
}

// The probe for `duration`: both requests every 100 ms.
std::vector<double> ProbeFor(int port, const std::string& token, absl::Duration duration,
                             int* failures) {
  std::vector<double> latencies;
  const std::string health = "GET /healthz HTTP/1.1\r\nHost: b\r\n\r\n";
  const std::string list = absl::StrCat("GET /api/v1/servers?limit=20 HTTP/1.1\r\nHost: b\r\n",
                                        "Authorization: Bearer ", token, "\r\n\r\n");
  const absl::Time end = absl::Now() + duration;
  while (absl::Now() < end) {
    const absl::Time next = absl::Now() + absl::Milliseconds(100);
    for (const std::string* request : {&health, &list}) {
      const double ms = Probe(port, *request);
      if (ms < 0) {
        ++*failures;
      } else {
        latencies.push_back(ms);
      }
    }
    absl::SleepFor(next - absl::Now());
  }
  return latencies;
}

struct Attack {
  absl::Mutex mutex;
  std::vector<double> answered_ms;  // from the head sent to the answer's first byte
  int64_t closed = 0;
  int64_t unanswered = 0;
};

// Sends `head`, then `filler` over and over up to `total` bytes, until the server answers and
// closes; then again, until `stop`.
void Attacker(int port, const std::string& head, const std::string& filler, size_t total,
              const std::atomic<bool>& stop, Attack& attack) {
  // A real attacker's CPU is not the server's: on one machine the attackers run at the lowest
  // priority, so what is measured is the server's handling of them, not the cores they take.
  setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), 19);
  while (!stop) {
    const int fd = Connect(port);
    if (fd < 0) continue;
    send(fd, head.data(), head.size(), MSG_NOSIGNAL);
    const absl::Time sent = absl::Now();
    std::optional<double> answered;
    bool closed = false;
    size_t sent_bytes = 0;
    char buffer[4096];
    while (!closed && !stop) {
      pollfd ready{.fd = fd, .events = POLLIN | POLLOUT, .revents = 0};
      if (sent_bytes >= total) ready.events = POLLIN;
      if (poll(&ready, 1, 1000) <= 0) break;
      if (ready.revents & (POLLIN | POLLHUP | POLLERR)) {
        const ssize_t n = recv(fd, buffer, sizeof(buffer), MSG_DONTWAIT);
        if (n > 0 && !answered) answered = absl::ToDoubleMilliseconds(absl::Now() - sent);
        if (n == 0 || (n < 0 && errno != EAGAIN)) closed = true;
      } else if (ready.revents & POLLOUT) {
        const ssize_t n = send(fd, filler.data(), filler.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) sent_bytes += static_cast<size_t>(n);
        if (n < 0 && errno != EAGAIN) closed = true;
      }
    }
    close(fd);
    absl::MutexLock lock(&attack.mutex);
    if (answered) {
      attack.answered_ms.push_back(*answered);
    } else {
      ++attack.unanswered;
    }
    if (closed) ++attack.closed;
  }
}

}  // namespace

int main(int argc, char** argv) {
  l4d2::DisableLockOrderChecks();
  const int seconds = argc > 1 ? std::atoi(argv[1]) : 30;
  const int body_attackers = argc > 2 ? std::atoi(argv[2]) : 8;
  const int header_attackers = argc > 3 ? std::atoi(argv[3]) : 8;
  l4d2::SetMinLogSeverity(l4d2::LogSeverity::kError);
  char dir[] = "/tmp/l4d2-h1-XXXXXX";
  if (mkdtemp(dir) == nullptr) return 1;
  l4d2::Clock& clock = l4d2::Clock::Real();
  auto db = Database::Open({.url = absl::StrCat("sqlite3:", dir, "/c.db"), .pool_size = 8});
  if (!db.ok() || !ApplyMigrations(**db, ControllerMigrations(), clock).ok()) return 1;
  FleetStores stores(**db, clock);
  PlaintextAgentConnector agents;
  auto api = ControllerApi::Start(**db, stores, agents, clock,
                                  {.http = {.address = "127.0.0.1:0", .threads = 2, .workers = 4},
                                   .password_cost = PasswordCost::Minimal()});
  if (!api.ok()) return 1;
  auto alice = (*api)->users().Create("alice", "alice's long password", Role::kOperator);
  const Actor actor = Actor::Operator(alice->id);
  BlueprintInput input{.name = "versus"};
  auto blueprint = stores.blueprints.Create(actor, input);
  for (int i = 0; i < 1000; ++i) {
    if (!stores.servers
             .Create(actor, absl::StrCat("server-", i), blueprint->id, DesiredState::kStopped)
             .ok()) {
      return 1;
    }
  }
  std::string token;
  if (!ApiTokenStore(**db, clock).Create(actor, "bench", {"read"}, &token).ok()) return 1;
  const int port = (*api)->port();
  std::printf(
      "H1: probe every 100 ms (GET /healthz, GET /api/v1/servers?limit=20 with a token), "
      "%d s at rest, then %d s beside %d clients streaming 50 MB bodies and %d sending "
      "2 MB headers\n",
      seconds, seconds, body_attackers, header_attackers);

  int rest_failures = 0;
  const Percentiles rest = Of(ProbeFor(port, token, absl::Seconds(seconds), &rest_failures));

  Attack attack;
  std::atomic<bool> stop = false;
  std::vector<std::thread> attackers;
  const std::string body_head =
      "POST /api/v1/session HTTP/1.1\r\nHost: b\r\nContent-Type: application/json\r\n"
      "Content-Length: 52428800\r\n\r\n";
  const std::string header_head = "GET /healthz HTTP/1.1\r\nHost: b\r\nX-Big: ";
  const std::string filler(64 << 10, 'a');
  for (int i = 0; i < body_attackers; ++i) {
    attackers.emplace_back(
        [&] { Attacker(port, body_head, filler, size_t{50} << 20, stop, attack); });
  }
  for (int i = 0; i < header_attackers; ++i) {
    attackers.emplace_back(
        [&] { Attacker(port, header_head, filler, size_t{2} << 20, stop, attack); });
  }
  int attack_failures = 0;
  const Percentiles attacked = Of(ProbeFor(port, token, absl::Seconds(seconds), &attack_failures));
  stop = true;
  for (std::thread& thread : attackers) thread.join();

  std::printf("  probe at rest:       p50 %6.2f ms  p99 %6.2f ms  max %7.2f ms  failed %d\n",
              rest.p50, rest.p99, rest.max, rest_failures);
  std::printf("  probe under attack:  p50 %6.2f ms  p99 %6.2f ms  max %7.2f ms  failed %d\n",
              attacked.p50, attacked.p99, attacked.max, attack_failures);
  const Percentiles answered = Of(attack.answered_ms);
  std::printf(
      "  attackers: %zu answered after their head in p50 %.2f ms, p99 %.2f ms, max %.2f ms; "
      "%lld closed by the server, %lld never answered\n",
      attack.answered_ms.size(), answered.p50, answered.p99, answered.max,
      static_cast<long long>(attack.closed), static_cast<long long>(attack.unanswered));
  (*api)->Stop();
  std::filesystem::remove_all(dir);
  return 0;
}
