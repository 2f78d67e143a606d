// PL1 (docs/benchmarks.md, Players): the agent ingesting the game servers' log streams.
//
//   l4d2_bench_pl1 [LINES_PER_SECOND] [SECONDS] [SERVERS]     (default 100000 10 50)
//
// SERVERS UDP sockets on loopback stand for the game servers' ports, each with its own
// sv_logsecret, and send a campaign's mix of lines (joins, team changes, chat, rounds, leaves,
// maps, cvars) paced at LINES_PER_SECOND in all, to the agent's real listener
// (UdpLogSocket + GameLogService, on a thread of its own). Printed: the lines taken and lost,
// and the CPU time of the receiving thread as a share of one core.
//
// Beside it, the peer's way (AMP and most panels match every console or log line against a
// list of regular expressions): the same lines through std::regex, one pattern per kind of
// line tried in turn, and through this parser, single-threaded, as CPU per line.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <regex>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "agent/os/linux/udp_log_socket.h"
#include "agent/players/game_log_service.h"
#include "common/clock.h"

namespace {

using l4d2::agent::EncodeGameLogPacket;

double ThreadCpuSeconds() {
  timespec now{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec) / 1e9;
}

// A campaign's lines for player slot `n`.
std::vector<std::string> Mix(int n) {
  const std::string who = absl::StrCat("\"Player ", n, "<", n + 2, "><STEAM_1:0:", 1000 + n, ">");
  return {who + "<>\" connected, address \"203.0.113." + std::to_string(n % 250) + ":27005\"",
          who + "<>\" STEAM USERID validated",
          who + "<>\" entered the game",
          who + "<Unassigned>\" joined team \"Survivor\"",
          "World triggered \"Round_Start\"",
          who + "<Survivor>\" say \"rush to the saferoom\"",
          who + "<Survivor>\" say_team \"witch ahead, lights off\"",
          "server_cvar: \"sv_steamgroup\" \"123\"",
          "World triggered \"Round_End\"",
          "Loading map \"c2m2_fairgrounds\"",
          "Started map \"c2m2_fairgrounds\" (CRC \"-1534887426\")",
          who + "<Survivor>\" entered the game",
          who + "<Survivor>\" disconnected (reason \"Disconnect by user.\")"};
}

// The peer's approach: every line against the patterns in turn until one matches.
int RegexKind(const std::vector<std::regex>& patterns, const std::string& line) {
  std::smatch match;
  for (size_t i = 0; i < patterns.size(); ++i) {
    if (std::regex_match(line, match, patterns[i])) return static_cast<int>(i);
  }
  return -1;
}

}  // namespace

int main(int argc, char** argv) {
  int rate = 100000, seconds = 10, servers = 50;
  if (argc > 1) (void)absl::SimpleAtoi(argv[1], &rate);
  if (argc > 2) (void)absl::SimpleAtoi(argv[2], &seconds);
  if (argc > 3) (void)absl::SimpleAtoi(argv[3], &servers);

  auto socket = l4d2::agent::UdpLogSocket::Open("127.0.0.1", 0);
  if (!socket.ok()) {
    std::fprintf(stderr, "%s\n", socket.status().ToString().c_str());
    return 1;
  }
  l4d2::agent::GameLogService service(**socket, l4d2::Clock::Real());
  // The senders: one socket per server, its port the sender's.
  std::vector<int> fds;
  absl::flat_hash_map<std::string, l4d2::agent::LogSender> senders;
  std::vector<std::vector<std::string>> packets(servers);
  const absl::CivilSecond at(2026, 12, 3, 21, 15, 0);
  for (int s = 0; s < servers; ++s) {
    const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address));
    socklen_t length = sizeof(address);
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
    fds.push_back(fd);
    const std::string secret = std::to_string(100000000 + s * 7919);
    senders[absl::StrCat("vs", s)] = {.port = ntohs(address.sin_port), .secret = secret};
    for (int n = 0; n < 8; ++n) {
      for (const std::string& line : Mix(s * 8 + n)) {
        packets[s].push_back(EncodeGameLogPacket(at, line, secret));
      }
    }
  }
  service.SetSenders(senders);

  std::atomic<bool> done{false};
  double receiver_cpu = 0, receiver_system = 0;
  std::thread receiver([&] {
    const double started = ThreadCpuSeconds();
    rusage before{};
    ::getrusage(RUSAGE_THREAD, &before);
    while (!done.load()) service.Poll(absl::Milliseconds(50));
    receiver_cpu = ThreadCpuSeconds() - started;
    rusage after{};
    ::getrusage(RUSAGE_THREAD, &after);
    receiver_system = static_cast<double>(after.ru_stime.tv_sec - before.ru_stime.tv_sec) +
                      static_cast<double>(after.ru_stime.tv_usec - before.ru_stime.tv_usec) / 1e6;
  });
  sockaddr_in listener{};
  listener.sin_family = AF_INET;
  listener.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  listener.sin_port = htons(static_cast<uint16_t>((*socket)->port()));
  // Paced in slices of 1 ms: rate / 1000 packets, round robin over the servers.
  const int64_t total = static_cast<int64_t>(rate) * seconds;
  const absl::Time start = absl::Now();
  int64_t sent = 0;
  std::vector<size_t> next(servers, 0);
  while (sent < total) {
    const int64_t due = std::min<int64_t>(
        total, static_cast<int64_t>(absl::ToDoubleSeconds(absl::Now() - start) * rate) + 1);
    for (; sent < due; ++sent) {
      const int s = static_cast<int>(sent % servers);
      const std::string& packet = packets[s][next[s]++ % packets[s].size()];
      ::sendto(fds[s], packet.data(), packet.size(), 0, reinterpret_cast<sockaddr*>(&listener),
               sizeof(listener));
    }
    absl::SleepFor(absl::Milliseconds(1));
  }
  const double wall = absl::ToDoubleSeconds(absl::Now() - start);
  absl::SleepFor(absl::Milliseconds(300));
  done = true;
  receiver.join();
  const l4d2::agent::GameLogCounters counters = service.counters();
  std::printf("sent %lld lines from %d servers in %.2f s (%.0f lines/s)\n",
              static_cast<long long>(total), servers, wall, static_cast<double>(total) / wall);
  std::printf("taken %lld, lost %lld (%.3f%%), refused %lld, malformed %lld\n",
              static_cast<long long>(counters.lines),
              static_cast<long long>(total - counters.lines),
              100.0 * static_cast<double>(total - counters.lines) / static_cast<double>(total),
              static_cast<long long>(counters.refused), static_cast<long long>(counters.malformed));
  std::printf(
      "agent: the receiving thread used %.2f s of CPU (%.2f s in the kernel): %.1f%% of one "
      "core, %.2f us a line\n",
      receiver_cpu, receiver_system, 100.0 * receiver_cpu / wall,
      1e6 * receiver_cpu / static_cast<double>(std::max<int64_t>(counters.lines, 1)));

  // Parsing alone, single-threaded: this parser beside regular expressions.
  std::vector<std::string> lines;
  for (int n = 0; n < 64; ++n) {
    for (const std::string& line : Mix(n)) lines.push_back("L 12/03/2026 - 21:15:00: " + line);
  }
  const int rounds = 2000;
  double begin = ThreadCpuSeconds();
  size_t parsed = 0;
  for (int r = 0; r < rounds; ++r) {
    for (const std::string& line : lines) parsed += l4d2::agent::ParseGameLogLine(line).ok();
  }
  const double ours = (ThreadCpuSeconds() - begin) / static_cast<double>(parsed);
  const std::string time = R"(L (\d\d)/(\d\d)/(\d{4}) - (\d\d):(\d\d):(\d\d): )";
  const std::string player = R"re("(.*)<(\d+)><([^>]*)><([^>]*)>")re";
  const std::vector<std::regex> patterns = {
      std::regex(time + player + R"re( entered the game)re"),
      std::regex(time + player + R"re( disconnected(?: \(reason "(.*)"\))?)re"),
      std::regex(time + player + R"re( say "(.*)")re"),
      std::regex(time + player + R"re( say_team "(.*)")re"),
      std::regex(time + player + R"re( connected, address "(.*)")re"),
      std::regex(time + player + R"re( STEAM USERID validated)re"),
      std::regex(time + player + R"re( joined team "(.*)")re"),
      std::regex(time + player + R"re( changed name to "(.*)")re"),
      std::regex(time + R"re(Loading map "([^"]*)")re"),
      std::regex(time + R"re(Started map "([^"]*)".*)re"),
      std::regex(time + R"re(World triggered "([^"]*)".*)re"),
      std::regex(time + R"re(.*)re")};
  const int regex_rounds = 20;
  begin = ThreadCpuSeconds();
  size_t matched = 0;
  for (int r = 0; r < regex_rounds; ++r) {
    for (const std::string& line : lines) matched += RegexKind(patterns, line) >= 0;
  }
  const double regex = (ThreadCpuSeconds() - begin) / static_cast<double>(matched);
  std::printf("parsing a line: this parser %.3f us, std::regex per line %.2f us (%.0fx)\n",
              ours * 1e6, regex * 1e6, regex / ours);
  std::printf("at %d lines/s: this parser %.1f%% of one core, std::regex %.0f%%\n", rate,
              100.0 * ours * rate, 100.0 * regex * rate);
  for (int fd : fds) ::close(fd);
  return 0;
}
