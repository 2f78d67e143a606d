#include "controller/jobs/agent_connector.h"

#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"

namespace l4d2::controller {

std::shared_ptr<agent::v1::AgentService::StubInterface> PlaintextAgentConnector::Stub(
    const Host& host) {
  absl::MutexLock lock(&mutex_);
  auto& stub = stubs_[host.address];
  if (stub == nullptr) {
    grpc::ChannelArguments arguments;
    arguments.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 30000);
    arguments.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 10000);
    stub = agent::v1::AgentService::NewStub(
        grpc::CreateCustomChannel(host.address, grpc::InsecureChannelCredentials(), arguments));
  }
  return stub;
}

}  // namespace l4d2::controller
