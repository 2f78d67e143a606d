// P2: the agent's status RPC (GetInstance of a running instance) against a bare gRPC server
// built from the same library that answers the same method with the same bytes.
//
//   l4d2_bench_p2 load ADDRESS INSTANCE SECONDS THREADS [SAVE_RESPONSE]
//       THREADS synchronous clients on one channel call GetInstance for SECONDS; prints
//       requests/s, p50 and p99 (microseconds); saves one response if asked.
//   l4d2_bench_p2 bare ADDRESS RESPONSE
//       serves GetInstance with the saved response, nothing else (the peer).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/lock_checks.h"
#include "ctl/agent_channel.h"
#include "grpcpp/grpcpp.h"
#include "l4d2/agent/v1/agent_service.grpc.pb.h"

namespace {

namespace v1 = l4d2::agent::v1;

class BareService final : public v1::AgentService::CallbackService {
 public:
  explicit BareService(v1::Instance response) : response_(std::move(response)) {}
  grpc::ServerUnaryReactor* GetInstance(grpc::CallbackServerContext* context,
                                        const v1::GetInstanceRequest*,
                                        v1::Instance* response) override {
    *response = response_;
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }

 private:
  const v1::Instance response_;
};

int Bare(const std::string& address, const std::string& response_file) {
  std::ifstream in(response_file, std::ios::binary);
  std::stringstream bytes;
  bytes << in.rdbuf();
  v1::Instance response;
  if (!response.ParseFromString(bytes.str())) {
    std::cerr << "cannot read " << response_file << "\n";
    return 1;
  }
  BareService service(std::move(response));
  grpc::ServerBuilder builder;
  builder.AddListeningPort(address, grpc::InsecureServerCredentials());
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr) return 1;
  std::cout << "serving" << std::endl;
  server->Wait();
  return 0;
}

int Load(const std::string& address, const std::string& name, int seconds, int threads,
         const std::string& save) {
  auto stub = v1::AgentService::NewStub(l4d2::ctl::MakeAgentChannel(address));
  v1::GetInstanceRequest request;
  request.set_name(name);
  {
    grpc::ClientContext context;
    v1::Instance first;
    grpc::Status status = stub->GetInstance(&context, request, &first);
    if (!status.ok()) {
      std::cerr << "GetInstance: " << status.error_message() << "\n";
      return 1;
    }
    if (first.status().unit().main_pid() == 0) {
      std::cerr << "the instance is not running\n";
      return 1;
    }
    if (!save.empty()) std::ofstream(save, std::ios::binary) << first.SerializeAsString();
  }
  std::atomic<bool> stop{false};
  std::atomic<int> failures{0};
  std::vector<std::vector<int>> latencies(threads);
  std::vector<std::thread> clients;
  const auto start = std::chrono::steady_clock::now();
  for (int t = 0; t < threads; ++t) {
    clients.emplace_back([&, t] {
      v1::Instance response;
      while (!stop.load(std::memory_order_relaxed)) {
        grpc::ClientContext context;
        const auto sent = std::chrono::steady_clock::now();
        grpc::Status status = stub->GetInstance(&context, request, &response);
        latencies[t].push_back(
            static_cast<int>(std::chrono::duration_cast<std::chrono::microseconds>(
                                 std::chrono::steady_clock::now() - sent)
                                 .count()));
        if (!status.ok()) failures.fetch_add(1);
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::seconds(seconds));
  stop.store(true);
  for (std::thread& client : clients) client.join();
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::vector<int> all;
  for (const auto& part : latencies) all.insert(all.end(), part.begin(), part.end());
  std::sort(all.begin(), all.end());
  auto at = [&](double q) { return all[std::min(all.size() - 1, size_t(q * all.size()))]; };
  std::printf("%.0f req/s  p50 %d us  p99 %d us  (%zu calls, %d failed, %d threads)\n",
              all.size() / elapsed, at(0.5), at(0.99), all.size(), failures.load(), threads);
  return failures.load() == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  l4d2::DisableLockOrderChecks();  // As the binaries do (and for the peer alike).
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.size() >= 5 && args[0] == "load") {
    return Load(args[1], args[2], std::atoi(args[3].c_str()), std::atoi(args[4].c_str()),
                args.size() > 5 ? args[5] : "");
  }
  if (args.size() == 3 && args[0] == "bare") return Bare(args[1], args[2]);
  std::cerr << "usage: l4d2_bench_p2 load ADDRESS INSTANCE SECONDS THREADS [SAVE_RESPONSE]\n"
               "       l4d2_bench_p2 bare ADDRESS RESPONSE\n";
  return 2;
}
