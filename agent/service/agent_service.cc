#include "agent/service/agent_service.h"

#include "agent/service/grpc_status.h"
#include "agent/service/operation_stream.h"

namespace l4d2::agent {

AgentServiceImpl::AgentServiceImpl(AgentServiceDeps deps) : deps_(deps) {}

grpc::ServerUnaryReactor* AgentServiceImpl::GetHostInfo(grpc::CallbackServerContext* context,
                                                        const v1::GetHostInfoRequest* request,
                                                        v1::HostInfo* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  // A handful of small /proc reads: cheap enough for the callback thread.
  absl::StatusOr<v1::HostInfo> info = deps_.host_info.Collect();
  if (info.ok()) *response = *std::move(info);
  reactor->Finish(ToGrpcStatus(info.status()));
  return reactor;
}

grpc::ServerWriteReactor<v1::InstallEvent>* AgentServiceImpl::Install(
    grpc::CallbackServerContext* context, const v1::InstallRequest* request) {
  absl::StatusOr<std::shared_ptr<OperationRun>> run = deps_.installs.Install(*request);
  if (!run.ok()) return FailedStream<v1::InstallEvent>(run.status());
  return new OperationStream<v1::InstallEvent>(*std::move(run));
}

grpc::ServerUnaryReactor* AgentServiceImpl::CheckForUpdate(grpc::CallbackServerContext* context,
                                                           const v1::CheckForUpdateRequest* request,
                                                           v1::CheckForUpdateResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  // steamcmd takes seconds: answer from a task thread.
  deps_.installs.CheckForUpdate(
      request->branch(), [reactor, response](absl::StatusOr<v1::CheckForUpdateResponse> result) {
        if (result.ok()) *response = *std::move(result);
        reactor->Finish(ToGrpcStatus(result.status()));
      });
  return reactor;
}

grpc::ServerUnaryReactor* AgentServiceImpl::GetOperation(grpc::CallbackServerContext* context,
                                                         const v1::GetOperationRequest* request,
                                                         v1::Operation* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  absl::StatusOr<v1::Operation> operation = deps_.operations.Get(request->operation_id());
  if (operation.ok()) *response = *std::move(operation);
  reactor->Finish(ToGrpcStatus(operation.status()));
  return reactor;
}

}  // namespace l4d2::agent
