// P3 client: a console line from the game to a streaming client, ours (the agent's StreamLogs,
// follow) beside the peer (`journalctl -f` on the same unit), reading the same lines at once.
//
//   l4d2_bench_p3 UNIX_SOCKET INSTANCE TICKS FLOOD
//   l4d2_bench_p3 UNIX_SOCKET --aggregate FLOOD INSTANCE...
//
// Asks the fake game (over the agent's console) for TICKS lines "fake tick <i> <realtime us>",
// one every 10 ms, and measures for each the time from the game printing it to each reader
// having it. Then asks for FLOOD lines at once and counts what each reader got (0 lost is the
// target) and how fast ours arrived. Prints the figures; exit 1 if a reader missed lines.
//
// --aggregate: one StreamLogs follower per instance, then every instance floods FLOOD lines at
// the same moment; prints the lines all followers got together per second (first line to
// last, over all of them) and what was lost. Exit 1 if a line was lost.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "agent/os/linux/linux_process_runner.h"
#include "ctl/agent_channel.h"
#include "l4d2/agent/v1/agent_service.grpc.pb.h"

namespace {

int64_t NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// What one reader saw: latency per tick, and flood lines counted.
struct Seen {
  absl::Mutex mutex;
  std::map<int, int64_t> tick_latency_us;
  int flood_lines = 0;
  int64_t flood_first_us = 0;
  int64_t flood_last_us = 0;

  void Line(const std::string& text) {
    const int64_t now = NowMicros();
    std::vector<std::string> words = absl::StrSplit(text, ' ');
    absl::MutexLock lock(&mutex);
    int number = 0;
    int64_t printed = 0;
    if (words.size() == 4 && words[0] == "fake" && words[1] == "tick" &&
        absl::SimpleAtoi(words[2], &number) && absl::SimpleAtoi(words[3], &printed)) {
      tick_latency_us[number] = now - printed;
    } else if (text.rfind("fake flood line ", 0) == 0) {
      if (flood_lines++ == 0) flood_first_us = now;
      flood_last_us = now;
    }
  }
};

void Report(const char* who, Seen& seen, int ticks, int flood) {
  absl::MutexLock lock(&seen.mutex);
  std::vector<int64_t> latencies;
  for (const auto& [number, latency] : seen.tick_latency_us) latencies.push_back(latency);
  std::sort(latencies.begin(), latencies.end());
  auto at = [&](double q) {
    return latencies.empty() ? -1.0
                             : latencies[std::min(latencies.size() - 1,
                                                  static_cast<size_t>(q * latencies.size()))] /
                                   1000.0;
  };
  std::printf("%-10s ticks %d/%d  latency p50 %.1f ms  p99 %.1f ms  max %.1f ms  flood %d/%d", who,
              static_cast<int>(latencies.size()), ticks, at(0.5), at(0.99),
              latencies.empty() ? -1.0 : latencies.back() / 1000.0, seen.flood_lines, flood);
  if (seen.flood_lines > 1) {
    std::printf("  (%.0f lines/s)",
                (seen.flood_lines - 1) * 1e6 /
                    std::max<int64_t>(1, seen.flood_last_us - seen.flood_first_us));
  }
  std::printf("\n");
}

using Stub = l4d2::agent::v1::AgentService::Stub;

bool Console(Stub& stub, const std::string& name, const std::string& command) {
  grpc::ClientContext context;
  l4d2::agent::v1::ExecuteConsoleCommandRequest request;
  request.set_operation_id("bench-p3-" + name + "-" + std::to_string(NowMicros()));
  request.set_name(name);
  request.set_command(command);
  l4d2::agent::v1::ExecuteConsoleCommandResponse response;
  grpc::Status status = stub.ExecuteConsoleCommand(&context, request, &response);
  if (!status.ok()) std::cerr << name << ": " << command << ": " << status.error_message() << "\n";
  return status.ok();
}

// Follows `name`'s log until `context` is cancelled, feeding `seen`.
std::thread Follow(Stub& stub, const std::string& name, grpc::ClientContext& context, Seen& seen) {
  return std::thread([&stub, name, &context, &seen] {
    l4d2::agent::v1::StreamLogsRequest request;
    request.set_name(name);
    request.set_lines(1);
    request.set_follow(true);
    auto reader = stub.StreamLogs(&context, request);
    l4d2::agent::v1::LogBatch batch;
    while (reader->Read(&batch)) {
      for (const auto& line : batch.lines()) seen.Line(line.text());
    }
    reader->Finish();
  });
}

int Aggregate(Stub& stub, int flood, const std::vector<std::string>& names) {
  const size_t n = names.size();
  std::vector<Seen> seen(n);
  std::vector<grpc::ClientContext> contexts(n);
  std::vector<std::thread> followers;
  for (size_t i = 0; i < n; ++i) followers.push_back(Follow(stub, names[i], contexts[i], seen[i]));
  std::this_thread::sleep_for(std::chrono::seconds(1));
  std::vector<std::thread> floods;
  std::atomic<bool> ok{true};
  for (const std::string& name : names) {
    floods.emplace_back([&, name] {
      if (!Console(stub, name, "fake_flood " + std::to_string(flood))) ok = false;
    });
  }
  for (std::thread& thread : floods) thread.join();
  auto received = [&] {
    int total = 0;
    for (Seen& one : seen) {
      absl::MutexLock lock(&one.mutex);
      total += one.flood_lines;
    }
    return total;
  };
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (received() < flood * static_cast<int>(n) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  for (grpc::ClientContext& context : contexts) context.TryCancel();
  for (std::thread& thread : followers) thread.join();
  int64_t first = INT64_MAX;
  int64_t last = 0;
  for (Seen& one : seen) {
    absl::MutexLock lock(&one.mutex);
    if (one.flood_lines == 0) continue;
    first = std::min(first, one.flood_first_us);
    last = std::max(last, one.flood_last_us);
  }
  const int total = received();
  std::printf(
      "ours       %zu servers x %d lines: %d/%d received, %d lost, %.0f lines/s aggregate\n", n,
      flood, total, flood * static_cast<int>(n), flood * static_cast<int>(n) - total,
      total > 1 ? (total - 1) * 1e6 / std::max<int64_t>(1, last - first) : 0.0);
  return ok && total == flood * static_cast<int>(n) ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 5 && std::string(argv[2]) == "--aggregate") {
    auto stub = l4d2::agent::v1::AgentService::NewStub(l4d2::ctl::MakeAgentChannel(argv[1]));
    return Aggregate(*stub, std::atoi(argv[3]), std::vector<std::string>(argv + 4, argv + argc));
  }
  if (argc != 5) {
    std::cerr << "usage: l4d2_bench_p3 UNIX_SOCKET INSTANCE TICKS FLOOD\n";
    return 2;
  }
  const std::string name = argv[2];
  const int ticks = std::atoi(argv[3]);
  const int flood = std::atoi(argv[4]);
  auto stub = l4d2::agent::v1::AgentService::NewStub(l4d2::ctl::MakeAgentChannel(argv[1]));

  Seen ours;
  grpc::ClientContext follow_context;
  std::thread agent_reader = Follow(*stub, name, follow_context, ours);

  Seen peer;
  std::vector<std::string> env;
  if (const char* runtime = std::getenv("XDG_RUNTIME_DIR")) {
    env.push_back(std::string("XDG_RUNTIME_DIR=") + runtime);
  }
  absl::StatusOr<l4d2::agent::SpawnedChild> journalctl = l4d2::agent::SpawnWithOutputPipe(
      {"/usr/bin/journalctl", "--follow", "--no-pager", "--lines=0", "-o", "cat",
       "--unit=left4me-server@" + name + ".service"},
      env, "");
  if (!journalctl.ok()) {
    std::cerr << journalctl.status() << "\n";
    return 1;
  }
  std::thread peer_reader([&] {
    FILE* in = fdopen(journalctl->output_fd, "r");
    char* line = nullptr;
    size_t capacity = 0;
    ssize_t length;
    while ((length = getline(&line, &capacity, in)) > 0) {
      peer.Line(std::string(line, line[length - 1] == '\n' ? length - 1 : length));
    }
    free(line);
    fclose(in);
  });

  auto console = [&](const std::string& command) { return Console(*stub, name, command); };
  // Both readers attached before the first line.
  std::this_thread::sleep_for(std::chrono::seconds(1));
  bool ok = console("fake_ticks " + std::to_string(ticks) + " 10");
  auto wait_for = [&](auto done, std::chrono::milliseconds limit) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  };
  auto all_ticks = [&] {
    absl::MutexLock a(&ours.mutex);
    absl::MutexLock b(&peer.mutex);
    return static_cast<int>(ours.tick_latency_us.size()) >= ticks &&
           static_cast<int>(peer.tick_latency_us.size()) >= ticks;
  };
  if (ok) wait_for(all_ticks, std::chrono::milliseconds(ticks * 10 + 5000));
  if (ok && flood > 0) {
    ok = console("fake_flood " + std::to_string(flood));
    auto all_flood = [&] {
      absl::MutexLock a(&ours.mutex);
      absl::MutexLock b(&peer.mutex);
      return ours.flood_lines >= flood && peer.flood_lines >= flood;
    };
    if (ok) wait_for(all_flood, std::chrono::seconds(30));
  }
  follow_context.TryCancel();
  agent_reader.join();
  kill(journalctl->pid, SIGTERM);
  peer_reader.join();
  waitpid(journalctl->pid, nullptr, 0);

  Report("ours", ours, ticks, flood);
  Report("journalctl", peer, ticks, flood);
  absl::MutexLock lock(&ours.mutex);
  return ok && static_cast<int>(ours.tick_latency_us.size()) == ticks && ours.flood_lines == flood
             ? 0
             : 1;
}
