#pragma once

// How the controller reaches a host's agent: one gRPC channel per address, kept and reused.
// Plaintext for now (loopback and development); mutual TLS replaces it with the fleet's
// enrollment (issue 4). Thread-safe.

#include <map>
#include <memory>
#include <string>

#include "absl/synchronization/mutex.h"
#include "controller/store/hosts.h"
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

}  // namespace l4d2::controller
