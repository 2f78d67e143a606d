// P4 (docs/benchmarks.md): Server-Sent Events fan-out from the controller: clients held, events
// delivered per second, memory per idle client; beside a bare epoll fan-out over plain TCP on
// the same machine (the limit: the same frames written to as many sockets, no HTTP, no hub).
//
//   l4d2_bench_p4 [CLIENTS] [EVENTS_PER_SECOND] [SECONDS]
//
// A child process (forked first) holds CLIENTS connections and counts the events that reach
// them. This process runs the controller's HTTP API (SQLite, one operator with a read token);
// every client opens GET /api/v1/events with the token. Once all are attached, the RSS growth
// per client is taken (idle), then audit-sized events are published to the fleet topic at
// EVENTS_PER_SECOND for SECONDS (each reaches every client). Prints clients, events delivered
// per second, clients cut off, and the same delivery by the bare fan-out. Needs CLIENTS + 100
// file descriptors here (while streams attach, briefly two each) and CLIENTS + 100 in the
// child: the soft limit is raised to the hard one, or beyond as root when the kernel allows it.
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "common/clock.h"
#include "common/lock_checks.h"
#include "common/logging.h"
#include "controller/api/controller_api.h"
#include "controller/api/event_sources.h"
#include "controller/api/sse_hub.h"
#include "controller/jobs/agent_connector.h"
#include "controller/store/migrations.h"

namespace {

using namespace l4d2::controller;

int64_t RssKb() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::atoll(line.c_str() + 6);
  }
  return 0;
}

void RaiseFileLimit(rlim_t wanted) {
  rlimit limit{wanted, wanted};
  if (setrlimit(RLIMIT_NOFILE, &limit) != 0) {
    getrlimit(RLIMIT_NOFILE, &limit);
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
  }
}

int Connect(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// The child: opens `clients` connections sending `request` (may be empty), then reads and
// counts "id: " lines until told to stop (SIGTERM); reports through `pipe_fd` every 100 ms:
// connected clients and events received so far.
[[noreturn]] void Clients(int port, int clients, const std::string& request, int pipe_fd) {
  RaiseFileLimit(clients + 1000);
  int epoll_fd = epoll_create1(0);
  int connected = 0;
  std::vector<int> fds;
  for (int i = 0; i < clients; ++i) {
    int fd = -1;
    for (int attempt = 0; attempt < 50 && fd < 0; ++attempt) {
      fd = Connect(port);
      if (fd < 0) usleep(20000);
    }
    if (fd < 0) break;
    if (!request.empty()) send(fd, request.data(), request.size(), MSG_NOSIGNAL);
    fcntl(fd, F_SETFL, O_NONBLOCK);
    epoll_event event{.events = EPOLLIN, .data = {.fd = fd}};
    epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &event);
    fds.push_back(fd);
    ++connected;
    if (i % 500 == 499) usleep(50000);  // let the server accept the burst
  }
  int64_t received = 0;
  // A frame's "id: " may straddle two reads: keep the last 3 bytes of each connection.
  std::vector<std::string> tails(65536 * 4);
  std::vector<epoll_event> events(1024);
  char buffer[65536];
  absl::Time next_report = absl::Now();
  for (;;) {
    int ready = epoll_wait(epoll_fd, events.data(), static_cast<int>(events.size()), 50);
    for (int i = 0; i < ready; ++i) {
      const int fd = events[i].data.fd;
      for (;;) {
        ssize_t n = read(fd, buffer, sizeof(buffer));
        if (n <= 0) break;
        // "id: " across the previous read's last bytes and this one's first.
        std::string& tail = tails[fd % tails.size()];
        const std::string seam = tail + std::string(buffer, std::min<size_t>(3, n));
        if (seam.find("id: ") != std::string::npos && seam.find("id: ") < tail.size()) ++received;
        const absl::string_view text(buffer, static_cast<size_t>(n));
        for (size_t at = text.find("id: "); at != absl::string_view::npos;
             at = text.find("id: ", at + 4)) {
          ++received;
        }
        tail = std::string(text.substr(text.size() > 3 ? text.size() - 3 : 0));
      }
    }
    if (absl::Now() >= next_report) {
      int64_t report[2] = {connected, received};
      (void)!write(pipe_fd, report, sizeof(report));
      next_report = absl::Now() + absl::Milliseconds(100);
    }
  }
}

struct ChildClients {
  pid_t pid = -1;
  int pipe_fd = -1;
  int64_t connected = 0, received = 0;

  void Start(int port, int clients, const std::string& request) {
    int pipe_fds[2];
    if (pipe2(pipe_fds, O_CLOEXEC) != 0) std::abort();
    pid = fork();
    if (pid == 0) {
      close(pipe_fds[0]);
      Clients(port, clients, request, pipe_fds[1]);
    }
    close(pipe_fds[1]);
    pipe_fd = pipe_fds[0];
    fcntl(pipe_fd, F_SETFL, O_NONBLOCK);
  }
  void Poll() {
    int64_t report[2];
    while (read(pipe_fd, report, sizeof(report)) == sizeof(report)) {
      connected = report[0];
      received = report[1];
    }
  }
  void Stop() {
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    close(pipe_fd);
  }
};

std::string AuditFrameData(int n) {
  return absl::StrFormat(
      R"({"id":"a%031d","at":"2026-11-22T08:00:00Z","actor":"user:u0123456789abcdef0123456789abcdef","action":"server.restart","target":"s0123456789abcdef01234567","detail":{"name":"server-%d","job":"0123456789abcdef0123456789abcdef"}})",
      n, n);
}

// Publishes `rate` events a second for `duration` through `publish`; returns the events sent.
int64_t Drive(const std::function<void(int)>& publish, int rate, absl::Duration duration) {
  const absl::Time start = absl::Now();
  int64_t sent = 0;
  while (absl::Now() - start < duration) {
    const int64_t due = static_cast<int64_t>(absl::ToDoubleSeconds(absl::Now() - start) * rate);
    while (sent < due) publish(static_cast<int>(++sent));
    absl::SleepFor(absl::Milliseconds(2));
  }
  return sent;
}

// The bare fan-out: accepts `clients` connections, then writes each frame to all of them.
struct BareFanout {
  int listen_fd = -1;
  int port = 0;
  std::vector<int> fds;
  void Listen() {
    listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(listen_fd, reinterpret_cast<sockaddr*>(&address), sizeof(address));
    socklen_t length = sizeof(address);
    getsockname(listen_fd, reinterpret_cast<sockaddr*>(&address), &length);
    port = ntohs(address.sin_port);
    listen(listen_fd, 4096);
  }
  void Accept(int clients) {
    while (static_cast<int>(fds.size()) < clients) {
      int fd = accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
      if (fd >= 0) fds.push_back(fd);
    }
  }
  void Publish(const std::string& frame) {
    for (int fd : fds) (void)!send(fd, frame.data(), frame.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  }
};

}  // namespace

int main(int argc, char** argv) {
  l4d2::DisableLockOrderChecks();  // As the binaries do (and for the peer alike).
  const int clients = argc > 1 ? std::atoi(argv[1]) : 10000;
  const int rate = argc > 2 ? std::atoi(argv[2]) : 20;
  const int seconds = argc > 3 ? std::atoi(argv[3]) : 10;
  l4d2::SetMinLogSeverity(l4d2::LogSeverity::kWarning);
  RaiseFileLimit(2 * clients + 2000);
  signal(SIGPIPE, SIG_IGN);

  // The peer first, while this process is small: the bare fan-out.
  double bare_per_second = 0;
  {
    BareFanout bare;
    bare.Listen();
    ChildClients child;
    child.Start(bare.port, clients, "");
    bare.Accept(clients);
    const absl::Time start = absl::Now();
    const int64_t sent = Drive(
        [&](int n) {
          bare.Publish(
              absl::StrCat("id: ", n, "\nevent: audit\ndata: ", AuditFrameData(n), "\n\n"));
        },
        rate, absl::Seconds(seconds));
    const double elapsed = absl::ToDoubleSeconds(absl::Now() - start);
    absl::SleepFor(absl::Seconds(1));  // the last frames in flight
    child.Poll();
    bare_per_second = child.received / elapsed;
    std::printf(
        "bare fan-out: %d clients, %lld events sent, %.0f events/s delivered (%.1f%% of "
        "sent x clients)\n",
        clients, static_cast<long long>(sent), bare_per_second,
        100.0 * child.received / std::max<int64_t>(1, sent * clients));
    child.Stop();
    for (int fd : bare.fds) close(fd);
    close(bare.listen_fd);
  }

  char dir[] = "/tmp/l4d2-p4-XXXXXX";
  if (mkdtemp(dir) == nullptr) return 1;
  l4d2::Clock& clock = l4d2::Clock::Real();
  auto db = Database::Open({.url = absl::StrCat("sqlite3:", dir, "/c.db")});
  if (!db.ok() || !ApplyMigrations(**db, ControllerMigrations(), clock).ok()) return 1;
  FleetStores stores(**db, clock);
  PlaintextAgentConnector agents;
  auto api =
      ControllerApi::Start(**db, stores, agents, clock,
                           // Every client is on loopback: no per-address connection limit.
                           {.http = {.address = "127.0.0.1:0",
                                     .threads = 2,
                                     .workers = 4,
                                     .addresses = {.max_connections = 0}},
                            .streams = {.max_streams_per_user = clients, .max_clients = clients},
                            .password_cost = PasswordCost::Minimal()});
  if (!api.ok()) return 1;
  SseHub& hub = (*api)->hub();
  auto user = (*api)->users().Create("watcher", "a long enough password", Role::kAdmin);
  std::string secret;
  if (!user.ok() ||
      !ApiTokenStore(**db, clock).Create(Actor::Admin(user->id), "p4", {"read"}, &secret).ok()) {
    return 1;
  }
  // Warm up allocator and caches with one stream, then measure from there.
  const int64_t rss_before = RssKb();
  ChildClients child;
  child.Start((*api)->port(), clients,
              absl::StrCat("GET /api/v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                           "Connection: keep-alive\r\nAuthorization: Bearer ",
                           secret, "\r\n\r\n"));
  const absl::Time connect_start = absl::Now();
  while (hub.Stats().clients < clients && absl::Now() - connect_start < absl::Seconds(30)) {
    absl::SleepFor(absl::Milliseconds(100));
  }
  const double connect_seconds = absl::ToDoubleSeconds(absl::Now() - connect_start);
  absl::SleepFor(absl::Seconds(1));
  const int64_t rss_idle = RssKb();
  const int64_t attached = hub.Stats().clients;
  std::printf(
      "controller: %lld of %d clients attached in %.1f s; RSS %lld -> %lld KB: %.1f KB "
      "per idle client\n",
      static_cast<long long>(attached), clients, connect_seconds,
      static_cast<long long>(rss_before), static_cast<long long>(rss_idle),
      attached > 0 ? static_cast<double>(rss_idle - rss_before) / attached : 0.0);
  child.Poll();
  const int64_t received_before = child.received;
  const absl::Time start = absl::Now();
  const int64_t sent = Drive(
      [&](int n) {
        hub.Publish(
            EventSources::kFleetTopic,
            {.id = absl::StrFormat("b%031d", n), .type = "audit", .data = AuditFrameData(n)});
      },
      rate, absl::Seconds(seconds));
  const double elapsed = absl::ToDoubleSeconds(absl::Now() - start);
  absl::SleepFor(absl::Seconds(1));  // the last frames in flight
  child.Poll();
  const int64_t received = child.received - received_before;
  const double per_second = received / elapsed;
  const SseStats stats = hub.Stats();
  std::printf(
      "controller: %lld events published, %.0f events/s delivered (%.1f%% of sent x "
      "clients; %.2fx the bare fan-out), %lld clients cut off, RSS %lld KB\n",
      static_cast<long long>(sent), per_second,
      100.0 * received / std::max<int64_t>(1, sent * attached),
      bare_per_second > 0 ? per_second / bare_per_second : 0.0,
      static_cast<long long>(stats.clients_cut_off), static_cast<long long>(RssKb()));
  child.Stop();
  (*api)->Stop();
  std::filesystem::remove_all(dir);
  return 0;
}
