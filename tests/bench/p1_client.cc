// P1 client: initialize + start N instances over gRPC against a running agent, timing each
// (the process is running when StartInstance returns: systemd reports the unit active).
//
//   l4d2_bench_p1 UNIX_SOCKET COUNT FIRST_PORT
// Prints one line per instance: its time in microseconds, and that of InitializeInstance.
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <string>

#include "ctl/agent_channel.h"
#include "l4d2/agent/v1/agent_service.grpc.pb.h"

int main(int argc, char** argv) {
  if (argc != 4) {
    std::cerr << "usage: l4d2_bench_p1 UNIX_SOCKET COUNT FIRST_PORT\n";
    return 2;
  }
  auto stub = l4d2::agent::v1::AgentService::NewStub(l4d2::ctl::MakeAgentChannel(argv[1]));
  const int count = std::atoi(argv[2]);
  const int first_port = std::atoi(argv[3]);
  for (int i = 0; i < count; ++i) {
    const std::string name = "p" + std::to_string(i);
    const auto start = std::chrono::steady_clock::now();
    grpc::ClientContext init_context;
    l4d2::agent::v1::InitializeInstanceRequest init;
    init.set_operation_id("bench-init-" + name);
    init.set_name(name);
    init.mutable_spec()->set_port(first_port + i);
    l4d2::agent::v1::Instance instance;
    grpc::Status status = stub->InitializeInstance(&init_context, init, &instance);
    const auto initialized = std::chrono::steady_clock::now();
    if (status.ok()) {
      grpc::ClientContext start_context;
      l4d2::agent::v1::StartInstanceRequest request;
      request.set_operation_id("bench-start-" + name);
      request.set_name(name);
      status = stub->StartInstance(&start_context, request, &instance);
    }
    if (!status.ok()) {
      std::cerr << name << ": " << status.error_message() << "\n";
      return 1;
    }
    std::cout << std::chrono::duration_cast<std::chrono::microseconds>(
                     std::chrono::steady_clock::now() - start)
                     .count()
              << " "
              << std::chrono::duration_cast<std::chrono::microseconds>(initialized - start).count()
              << "\n";
  }
  return 0;
}
