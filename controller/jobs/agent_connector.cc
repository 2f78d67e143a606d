#include "controller/jobs/agent_connector.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/security/tls_certificate_provider.h"
#include "grpcpp/security/tls_certificate_verifier.h"
#include "grpcpp/security/tls_credentials_options.h"
#include "tls/certificates.h"
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

// Checks, after the CA's, that an agent's certificate names the host dialled (the target name
// is set to it, Stub) and, with host certificates, that it is over the key stored for the host.
class AgentCertificateCheck final : public grpc::experimental::ExternalCertificateVerifier {
 public:
  explicit AgentCertificateCheck(HostCertificates host_certificates)
      : host_certificates_(std::move(host_certificates)) {}

  bool Verify(grpc::experimental::TlsCustomVerificationCheckRequest* request,
              std::function<void(grpc::Status)>, grpc::Status* sync_status) override {
    *sync_status = Check(*request);
    if (!sync_status->ok()) L4D2_LOG(WARNING) << sync_status->error_message();
    return true;  // decided here, synchronously
  }
  void Cancel(grpc::experimental::TlsCustomVerificationCheckRequest*) override {}

 private:
  grpc::Status Check(const grpc::experimental::TlsCustomVerificationCheckRequest& request) const {
    const std::string target(request.target_name().data(), request.target_name().size());
    const std::string suffix = tls::AgentName("");
    if (target.size() <= suffix.size() || !absl::EndsWith(target, suffix)) {
      return Refused(absl::StrCat("'", target, "' names no agent"));
    }
    bool named = false;
    for (const grpc::string_ref& name : request.dns_names()) {
      named = named || std::string(name.data(), name.size()) == target;
    }
    if (!named) return Refused(absl::StrCat("the agent's certificate does not name ", target));
    if (host_certificates_ == nullptr) return grpc::Status::OK;
    const std::string host_id = target.substr(0, target.size() - suffix.size());
    absl::StatusOr<std::string> stored = host_certificates_(host_id);
    if (!stored.ok()) {
      return Refused(absl::StrCat("host ", host_id, ": ", stored.status().message()));
    }
    absl::StatusOr<tls::CertificateFacts> expected = tls::InspectCertificate(*stored);
    absl::StatusOr<tls::CertificateFacts> presented = tls::InspectCertificate(
        std::string(request.peer_cert().data(), request.peer_cert().size()));
    if (!expected.ok() || !presented.ok() || expected->key_sha256 != presented->key_sha256) {
      return Refused(absl::StrCat("host ", host_id,
                                  ": the agent's key is not the one enrolled (a revoked "
                                  "certificate, or another's)"));
    }
    return grpc::Status::OK;
  }

  static grpc::Status Refused(const std::string& why) {
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "agent refused: " + why);
  }

  const HostCertificates host_certificates_;
};

std::shared_ptr<grpc::ChannelCredentials> ChannelCredentials(
    const ControllerTls& tls, const HostCertificates& host_certificates) {
  auto files = std::make_shared<grpc::experimental::StaticDataCertificateProvider>(
      tls.ca_pem, std::vector<grpc::experimental::IdentityKeyCertPair>{
                      {.private_key = tls.key_pem, .certificate_chain = tls.certificate_pem}});
  grpc::experimental::TlsChannelCredentialsOptions options;
  options.set_certificate_provider(files);
  options.watch_root_certs();
  options.watch_identity_key_cert_pairs();
  options.set_verify_server_certs(true);  // the chain, against the fleet CA; then ours
  options.set_certificate_verifier(
      grpc::experimental::ExternalCertificateVerifier::Create<AgentCertificateCheck>(
          host_certificates));
  options.set_check_call_host(false);
  return grpc::experimental::TlsCredentials(options);
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
      credentials_ = ChannelCredentials(tls_, host_certificates_);
    }
    grpc::ChannelArguments arguments = AgentChannelArguments();
    // The agent's certificate must name this host, whatever address it answers on.
    arguments.SetSslTargetNameOverride(tls::AgentName(host.id));
    // Connections of this channel alone: after Forget, a new channel must make a new handshake
    // (and check the pin again), not share a connection of the forgotten one still closing.
    arguments.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    stub = agent::v1::AgentService::NewStub(
        grpc::CreateCustomChannel(host.address, credentials_, arguments));
  }
  return stub;
}

void MutualTlsAgentConnector::Forget(const std::string& host_id) {
  absl::MutexLock lock(&mutex_);
  std::erase_if(stubs_, [&](const auto& entry) { return entry.first.first == host_id; });
}

}  // namespace l4d2::controller
