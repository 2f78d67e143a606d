#include "controller/jobs/agent_connector.h"

#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "tls/pki.h"

namespace l4d2::controller {
namespace {

// One channel per agent, thousands of them (docs/benchmarks.md, P7 and P8): what the control
// plane's small messages do not need is turned off. Measured with 5,000 agents: 451 -> 381 MB
// and 19.5% -> 12% of a core.
grpc::ChannelArguments AgentChannelArguments() {
  grpc::ChannelArguments arguments;
  arguments.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 30000);
  arguments.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 10000);
  // Header compression tables (4 KB each way per connection): the headers are a few bytes.
  arguments.SetInt(GRPC_ARG_HTTP2_HPACK_TABLE_SIZE_DECODER, 0);
  arguments.SetInt(GRPC_ARG_HTTP2_HPACK_TABLE_SIZE_ENCODER, 0);
  // Bandwidth-delay probing: pings and window growth for bulk transfers we do not make.
  arguments.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);
  arguments.SetInt(GRPC_ARG_ENABLE_CHANNELZ, 0);
  // Calls carry operation ids and the scheduler retries jobs itself.
  arguments.SetInt(GRPC_ARG_ENABLE_RETRIES, 0);
  // Read buffers start small and grow only as far as a log batch needs.
  arguments.SetInt(GRPC_ARG_TCP_READ_CHUNK_SIZE, 4096);
  arguments.SetInt(GRPC_ARG_TCP_MIN_READ_CHUNK_SIZE, 1024);
  arguments.SetInt(GRPC_ARG_TCP_MAX_READ_CHUNK_SIZE, 65536);
  // Hosts report by datagram (fleet/host_reports.h): a channel is for work, and its connection
  // (with mutual TLS ~190 KB of the controller's memory) is closed after a minute without a
  // call; the next call opens it again.
  arguments.SetInt(GRPC_ARG_CLIENT_IDLE_TIMEOUT_MS, 60000);
  return arguments;
}

}  // namespace

std::shared_ptr<agent::v1::AgentService::StubInterface> PlaintextAgentConnector::Stub(
    const Host& host) {
  absl::MutexLock lock(&mutex_);
  auto& stub = stubs_[host.address];
  if (stub == nullptr) {
    stub = agent::v1::AgentService::NewStub(grpc::CreateCustomChannel(
        host.address, grpc::InsecureChannelCredentials(), AgentChannelArguments()));
  }
  return stub;
}

std::shared_ptr<agent::v1::AgentService::StubInterface> MutualTlsAgentConnector::Stub(
    const Host& host) {
  absl::MutexLock lock(&mutex_);
  auto& stub = stubs_[{host.id, host.address}];
  if (stub == nullptr) {
    if (credentials_ == nullptr) {  // One for every agent: the same certificate and CA.
      grpc::SslCredentialsOptions options;
      options.pem_root_certs = tls_.ca_pem;
      options.pem_private_key = tls_.key_pem;
      options.pem_cert_chain = tls_.certificate_pem;
      credentials_ = grpc::SslCredentials(options);
    }
    grpc::ChannelArguments arguments = AgentChannelArguments();
    // The agent's certificate must name this host, whatever address it answers on.
    arguments.SetSslTargetNameOverride(tls::AgentName(host.id));
    stub = agent::v1::AgentService::NewStub(
        grpc::CreateCustomChannel(host.address, credentials_, arguments));
  }
  return stub;
}

}  // namespace l4d2::controller
