// P1 client: initialize + start instances over gRPC against a running agent.
//
//   l4d2_bench_p1 UNIX_SOCKET COUNT FIRST_PORT
//     One instance after the other, each timed (the process is running when StartInstance
//     returns: systemd reports the unit active). Prints one line per instance: its time in
//     microseconds, and that of InitializeInstance.
//   l4d2_bench_p1 UNIX_SOCKET COUNT FIRST_PORT CONCURRENCY initialize|start [PREFIX]
//     COUNT instances (named PREFIX0, PREFIX1, ...; default p) by CONCURRENCY clients at once, as a
//     controller creating many servers on one host would: all initialized, then (start) all
//     started. Prints the wall time of the initializations, then of the starts, in milliseconds.
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "ctl/agent_channel.h"
#include "l4d2/agent/v1/agent_service.grpc.pb.h"

namespace {

using Stub = l4d2::agent::v1::AgentService::Stub;
using Clock = std::chrono::steady_clock;

grpc::Status Initialize(Stub& stub, const std::string& name, int port) {
  grpc::ClientContext context;
  l4d2::agent::v1::InitializeInstanceRequest request;
  request.set_operation_id("bench-init-" + name);
  request.set_name(name);
  request.mutable_spec()->set_port(port);
  l4d2::agent::v1::Instance instance;
  return stub.InitializeInstance(&context, request, &instance);
}

grpc::Status Start(Stub& stub, const std::string& name) {
  grpc::ClientContext context;
  l4d2::agent::v1::StartInstanceRequest request;
  request.set_operation_id("bench-start-" + name);
  request.set_name(name);
  l4d2::agent::v1::Instance instance;
  return stub.StartInstance(&context, request, &instance);
}

int64_t Micros(Clock::duration duration) {
  return std::chrono::duration_cast<std::chrono::microseconds>(duration).count();
}

// Runs `step` for every index in [0, count) on `concurrency` threads; false on any failure.
template <typename Step>
bool ForAll(int count, int concurrency, Step step) {
  std::atomic<int> next{0};
  std::atomic<bool> ok{true};
  std::vector<std::thread> threads;
  for (int t = 0; t < concurrency; ++t) {
    threads.emplace_back([&] {
      for (int i = next++; i < count && ok; i = next++) {
        if (grpc::Status status = step(i); !status.ok()) {
          std::cerr << "instance " << i << ": " << status.error_message() << "\n";
          ok = false;
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  return ok;
}

}  // namespace

int main(int argc, char** argv) {
  const bool bulk = (argc == 6 || argc == 7) &&
                    (std::string(argv[5]) == "initialize" || std::string(argv[5]) == "start");
  if (argc != 4 && !bulk) {
    std::cerr << "usage: l4d2_bench_p1 UNIX_SOCKET COUNT FIRST_PORT "
                 "[CONCURRENCY initialize|start [PREFIX]]\n";
    return 2;
  }
  auto stub = l4d2::agent::v1::AgentService::NewStub(l4d2::ctl::MakeAgentChannel(argv[1]));
  const int count = std::atoi(argv[2]);
  const int first_port = std::atoi(argv[3]);
  if (bulk) {
    const int concurrency = std::atoi(argv[4]);
    const std::string prefix = argc == 7 ? argv[6] : "p";
    const auto start = Clock::now();
    if (!ForAll(count, concurrency, [&](int i) {
          return Initialize(*stub, prefix + std::to_string(i), first_port + i);
        })) {
      return 1;
    }
    const auto initialized = Clock::now();
    if (std::string(argv[5]) == "start" && !ForAll(count, concurrency, [&](int i) {
          return Start(*stub, prefix + std::to_string(i));
        })) {
      return 1;
    }
    std::cout << Micros(initialized - start) / 1000 << " "
              << Micros(Clock::now() - initialized) / 1000 << "\n";
    return 0;
  }
  for (int i = 0; i < count; ++i) {
    const std::string name = "p" + std::to_string(i);
    const auto start = Clock::now();
    grpc::Status status = Initialize(*stub, name, first_port + i);
    const auto initialized = Clock::now();
    if (status.ok()) status = Start(*stub, name);
    if (!status.ok()) {
      std::cerr << name << ": " << status.error_message() << "\n";
      return 1;
    }
    std::cout << Micros(Clock::now() - start) << " " << Micros(initialized - start) << "\n";
  }
  return 0;
}
