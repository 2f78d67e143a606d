#include "controller/jobs/agent_connector.h"

#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "tls/pki.h"

namespace l4d2::controller {
namespace {

grpc::ChannelArguments KeepaliveArguments() {
  grpc::ChannelArguments arguments;
  arguments.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 30000);
  arguments.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 10000);
  return arguments;
}

}  // namespace

std::shared_ptr<agent::v1::AgentService::StubInterface> PlaintextAgentConnector::Stub(
    const Host& host) {
  absl::MutexLock lock(&mutex_);
  auto& stub = stubs_[host.address];
  if (stub == nullptr) {
    stub = agent::v1::AgentService::NewStub(grpc::CreateCustomChannel(
        host.address, grpc::InsecureChannelCredentials(), KeepaliveArguments()));
  }
  return stub;
}

std::shared_ptr<agent::v1::AgentService::StubInterface> MutualTlsAgentConnector::Stub(
    const Host& host) {
  absl::MutexLock lock(&mutex_);
  auto& stub = stubs_[{host.id, host.address}];
  if (stub == nullptr) {
    grpc::SslCredentialsOptions options;
    options.pem_root_certs = tls_.ca_pem;
    options.pem_private_key = tls_.key_pem;
    options.pem_cert_chain = tls_.certificate_pem;
    grpc::ChannelArguments arguments = KeepaliveArguments();
    // The agent's certificate must name this host, whatever address it answers on.
    arguments.SetSslTargetNameOverride(tls::AgentName(host.id));
    stub = agent::v1::AgentService::NewStub(
        grpc::CreateCustomChannel(host.address, grpc::SslCredentials(options), arguments));
  }
  return stub;
}

}  // namespace l4d2::controller
