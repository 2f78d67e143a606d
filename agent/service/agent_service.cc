#include "agent/service/agent_service.h"

#include "agent/service/grpc_status.h"

namespace l4d2::agent {

AgentServiceImpl::AgentServiceImpl(const HostInfoCollector& host_info) : host_info_(host_info) {}

grpc::ServerUnaryReactor* AgentServiceImpl::GetHostInfo(grpc::CallbackServerContext* context,
                                                        const v1::GetHostInfoRequest* request,
                                                        v1::HostInfo* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  // A handful of small /proc reads: cheap enough for the callback thread.
  absl::StatusOr<v1::HostInfo> info = host_info_.Collect();
  if (info.ok()) *response = *std::move(info);
  reactor->Finish(ToGrpcStatus(info.status()));
  return reactor;
}

}  // namespace l4d2::agent
