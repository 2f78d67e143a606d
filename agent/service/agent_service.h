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
#include "l4d2/agent/v1/agent_service.grpc.pb.h"

namespace l4d2::agent {

class AgentServiceImpl final : public v1::AgentService::CallbackService {
 public:
  // `host_info` must outlive the service.
  explicit AgentServiceImpl(const HostInfoCollector& host_info);

  grpc::ServerUnaryReactor* GetHostInfo(grpc::CallbackServerContext* context,
                                        const v1::GetHostInfoRequest* request,
                                        v1::HostInfo* response) override;

 private:
  const HostInfoCollector& host_info_;
};

}  // namespace l4d2::agent
