#pragma once

// gRPC adapter of the agent's API (proto/l4d2/agent/v1/agent_service.proto). It translates
// between protos and the host logic and maps absl::Status to gRPC status; it holds no logic.
//
// Calls run on gRPC's callback threads and must return quickly: work that can block for long
// (steamcmd, systemd jobs, RCON) runs on executors owned by the logic classes.
//
// RPCs whose logic has not landed yet (see docs/agent-api.md, "Implementation status") are
// not overridden, so gRPC answers them with its own UNIMPLEMENTED status.

#include "agent/host/host_info_collector.h"
#include "agent/install/install_service.h"
#include "agent/operations/operation_registry.h"
#include "l4d2/agent/v1/agent_service.grpc.pb.h"

namespace l4d2::agent {

// What the service adapts; everything must outlive it.
struct AgentServiceDeps {
  const HostInfoCollector& host_info;
  InstallService& installs;
  OperationRegistry& operations;
};

class AgentServiceImpl final : public v1::AgentService::CallbackService {
 public:
  explicit AgentServiceImpl(AgentServiceDeps deps);

  grpc::ServerUnaryReactor* GetHostInfo(grpc::CallbackServerContext* context,
                                        const v1::GetHostInfoRequest* request,
                                        v1::HostInfo* response) override;
  grpc::ServerWriteReactor<v1::InstallEvent>* Install(grpc::CallbackServerContext* context,
                                                      const v1::InstallRequest* request) override;
  grpc::ServerUnaryReactor* CheckForUpdate(grpc::CallbackServerContext* context,
                                           const v1::CheckForUpdateRequest* request,
                                           v1::CheckForUpdateResponse* response) override;
  grpc::ServerUnaryReactor* GetOperation(grpc::CallbackServerContext* context,
                                         const v1::GetOperationRequest* request,
                                         v1::Operation* response) override;

 private:
  AgentServiceDeps deps_;
};

}  // namespace l4d2::agent
