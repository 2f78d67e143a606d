#pragma once

// How the controller reaches a host's agent: one gRPC channel per host, kept and reused.
// MutualTlsAgentConnector is the fleet's: it presents the controller's certificate and accepts
// only an agent certificate from the fleet CA naming the host it dials, so a host cannot answer
// for another, nor anything holding the controller's certificate pose as an agent.
// PlaintextAgentConnector is for loopback development. Thread-safe.

#include <map>
#include <memory>
#include <string>

#include "absl/synchronization/mutex.h"
#include "controller/store/hosts.h"
#include "grpcpp/security/credentials.h"
#include "l4d2/agent/v1/agent_service.grpc.pb.h"

namespace l4d2::controller {

class AgentConnector {
 public:
  virtual ~AgentConnector() = default;
  virtual std::shared_ptr<agent::v1::AgentService::StubInterface> Stub(const Host& host) = 0;
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

class MutualTlsAgentConnector final : public AgentConnector {
 public:
  explicit MutualTlsAgentConnector(ControllerTls tls) : tls_(std::move(tls)) {}
  std::shared_ptr<agent::v1::AgentService::StubInterface> Stub(const Host& host) override;

 private:
  const ControllerTls tls_;
  absl::Mutex mutex_;
  std::shared_ptr<grpc::ChannelCredentials> credentials_ ABSL_GUARDED_BY(mutex_);
  // By host id and address.
  std::map<std::pair<std::string, std::string>,
           std::shared_ptr<agent::v1::AgentService::StubInterface>>
      stubs_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace l4d2::controller
