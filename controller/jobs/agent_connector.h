#pragma once

// How the controller reaches a host's agent: one gRPC channel per host, kept and reused.
// MutualTlsAgentConnector is the fleet's: it presents the controller's certificate and accepts
// only an agent certificate from the fleet CA naming the host it dials, so a host cannot answer
// for another, nor anything holding the controller's certificate pose as an agent.
// With host certificates at hand (the controller's store), it also pins each host to the key
// of the certificate stored for it: a revoked certificate (HostStore::RevokeCertificate), or
// any other the CA once issued for the host, is refused at the next handshake, and Forget
// closes the connections already open. PlaintextAgentConnector is for loopback development.
// Thread-safe.

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "controller/store/hosts.h"
#include "grpcpp/security/credentials.h"
#include "l4d2/agent/v1/agent_service.grpc.pb.h"

namespace l4d2::controller {

class AgentConnector {
 public:
  virtual ~AgentConnector() = default;
  virtual std::shared_ptr<agent::v1::AgentService::StubInterface> Stub(const Host& host) = 0;
  // Drops the channels to a host, closing their connections once their calls end: its
  // certificate was revoked. (A connector without TLS has nothing to forget.)
  virtual void Forget(const std::string& host_id) {}
};

class PlaintextAgentConnector final : public AgentConnector {
 public:
  std::shared_ptr<agent::v1::AgentService::StubInterface> Stub(const Host& host) override;

 private:
  absl::Mutex mutex_;
  std::map<std::string, std::shared_ptr<agent::v1::AgentService::StubInterface>> stubs_
      ABSL_GUARDED_BY(mutex_);
};

struct ControllerTls {
  std::string certificate_pem;  // names tls::kControllerName
  std::string key_pem;
  std::string ca_pem;  // the fleet CA
};

// The certificate (PEM) stored for a host, whose key its agent must present; an error refuses
// the host's agent (unknown host, revoked certificate).
using HostCertificates = std::function<absl::StatusOr<std::string>(const std::string& host_id)>;

class MutualTlsAgentConnector final : public AgentConnector {
 public:
  // Without `host_certificates`, any certificate of the CA naming the host is accepted.
  explicit MutualTlsAgentConnector(ControllerTls tls, HostCertificates host_certificates = nullptr)
      : tls_(std::move(tls)), host_certificates_(std::move(host_certificates)) {}
  std::shared_ptr<agent::v1::AgentService::StubInterface> Stub(const Host& host) override;
  void Forget(const std::string& host_id) override;

 private:
  const ControllerTls tls_;
  const HostCertificates host_certificates_;
  absl::Mutex mutex_;
  std::shared_ptr<grpc::ChannelCredentials> credentials_ ABSL_GUARDED_BY(mutex_);
  // By host id and address.
  std::map<std::pair<std::string, std::string>,
           std::shared_ptr<agent::v1::AgentService::StubInterface>>
      stubs_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace l4d2::controller
