#include "controller/jobs/agent_client.h"

#include <algorithm>
#include <type_traits>

#include "absl/strings/str_cat.h"
#include "common/clock.h"
#include "common/status_macros.h"
#include "grpcpp/client_context.h"
#include "rpc/grpc_status.h"
#include "rpc/proto_json.h"

namespace l4d2::controller {
namespace {

// The generated client of the agent service.
using AgentRpc = agent::v1::AgentService::StubInterface;

// One unary call attached to `call`: cancelled with it, bounded by `timeout`.
template <typename Request, typename Response>
absl::StatusOr<Response> Unary(AgentRpc& rpc,
                               grpc::Status (AgentRpc::*method)(grpc::ClientContext*,
                                                                const Request&, Response*),
                               const Request& request, AgentCall& call, absl::Duration timeout) {
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(RealDeadline(timeout)));
  if (!call.Attach([&context] { context.TryCancel(); })) {
    return absl::CancelledError("cancelled");
  }
  Response response;
  const grpc::Status status = (rpc.*method)(&context, request, &response);
  call.Detach();
  L4D2_RETURN_IF_ERROR(FromGrpcStatus(status));
  return response;
}

// Reads an operation's stream (install, sync) to its end: progress and log lines become job
// events; the result, or UNAVAILABLE when the stream ended without one.
template <typename StreamEvent, typename Request>
auto Follow(AgentRpc& rpc,
            std::unique_ptr<grpc::ClientReaderInterface<StreamEvent>> (AgentRpc::*method)(
                grpc::ClientContext*, const Request&),
            const Request& request, AgentCall& call, const char* what)
    -> absl::StatusOr<std::decay_t<decltype(StreamEvent().result())>> {
  grpc::ClientContext context;
  if (!call.Attach([&context] { context.TryCancel(); })) {
    return absl::CancelledError("cancelled");
  }
  std::unique_ptr<grpc::ClientReaderInterface<StreamEvent>> reader =
      (rpc.*method)(&context, request);
  std::decay_t<decltype(StreamEvent().result())> result;
  bool have_result = false;
  StreamEvent event;
  while (reader->Read(&event)) {
    if (event.has_progress()) {
      call.Event("progress", ToJson(event.progress()));
    } else if (event.has_log_line()) {
      call.Event("log", event.log_line());
    } else if (event.has_result()) {
      result = event.result();
      have_result = true;
    }
  }
  const absl::Status status = FromGrpcStatus(reader->Finish());
  call.Detach();
  L4D2_RETURN_IF_ERROR(status);
  if (!have_result) {
    return absl::UnavailableError(absl::StrCat("the agent's ", what, " ended without a result"));
  }
  return result;
}

}  // namespace

absl::StatusOr<agent::v1::InstallResult> GrpcAgentClient::Install(
    const Host& host, const agent::v1::InstallRequest& request, AgentCall& call) {
  return Follow(*agents_.Stub(host), &AgentRpc::Install, request, call, "install");
}

absl::StatusOr<agent::v1::OverlaySyncResult> GrpcAgentClient::SyncOverlay(
    const Host& host, const agent::v1::SyncOverlayRequest& request, AgentCall& call) {
  return Follow(*agents_.Stub(host), &AgentRpc::SyncOverlay, request, call, "sync");
}

absl::StatusOr<agent::v1::Instance> GrpcAgentClient::InitializeInstance(
    const Host& host, const agent::v1::InitializeInstanceRequest& request, AgentCall& call) {
  return Unary(*agents_.Stub(host), &AgentRpc::InitializeInstance, request, call, call_timeout_);
}

absl::StatusOr<agent::v1::Instance> GrpcAgentClient::StartInstance(
    const Host& host, const agent::v1::StartInstanceRequest& request, AgentCall& call) {
  return Unary(*agents_.Stub(host), &AgentRpc::StartInstance, request, call, call_timeout_);
}

absl::StatusOr<agent::v1::Instance> GrpcAgentClient::StopInstance(
    const Host& host, const agent::v1::StopInstanceRequest& request, AgentCall& call) {
  return Unary(*agents_.Stub(host), &AgentRpc::StopInstance, request, call, call_timeout_);
}

absl::StatusOr<agent::v1::Instance> GrpcAgentClient::RestartInstance(
    const Host& host, const agent::v1::RestartInstanceRequest& request, AgentCall& call) {
  return Unary(*agents_.Stub(host), &AgentRpc::RestartInstance, request, call, call_timeout_);
}

absl::StatusOr<agent::v1::Instance> GrpcAgentClient::ResetInstance(
    const Host& host, const agent::v1::ResetInstanceRequest& request, AgentCall& call) {
  return Unary(*agents_.Stub(host), &AgentRpc::ResetInstance, request, call, call_timeout_);
}

absl::StatusOr<agent::v1::Instance> GrpcAgentClient::GetInstance(
    const Host& host, const agent::v1::GetInstanceRequest& request, AgentCall& call) {
  return Unary(*agents_.Stub(host), &AgentRpc::GetInstance, request, call, call_timeout_);
}

absl::StatusOr<agent::v1::ListPlayerEventsResponse> GrpcAgentClient::ListPlayerEvents(
    const Host& host, const agent::v1::ListPlayerEventsRequest& request, AgentCall& call) {
  return Unary(*agents_.Stub(host), &AgentRpc::ListPlayerEvents, request, call, call_timeout_);
}

absl::StatusOr<agent::v1::CheckForUpdateResponse> GrpcAgentClient::CheckForUpdate(
    const Host& host, const agent::v1::CheckForUpdateRequest& request, AgentCall& call) {
  // steamcmd asks Steam for the app's info: give it the time a slow Steam takes.
  return Unary(*agents_.Stub(host), &AgentRpc::CheckForUpdate, request, call,
               std::max(call_timeout_, absl::Minutes(2)));
}

absl::StatusOr<agent::v1::BackupInstanceResponse> GrpcAgentClient::BackupInstance(
    const Host& host, const agent::v1::BackupInstanceRequest& request, AgentCall& call) {
  // A large writable layer takes minutes to compress; a retry re-attaches to the operation.
  return Unary(*agents_.Stub(host), &AgentRpc::BackupInstance, request, call,
               std::max(call_timeout_, absl::Minutes(30)));
}

absl::StatusOr<agent::v1::BackupChunk> GrpcAgentClient::ReadBackup(
    const Host& host, const agent::v1::ReadBackupRequest& request, AgentCall& call) {
  return Unary(*agents_.Stub(host), &AgentRpc::ReadBackup, request, call, call_timeout_);
}

absl::StatusOr<agent::v1::WriteBackupResponse> GrpcAgentClient::WriteBackup(
    const Host& host, const agent::v1::WriteBackupRequest& request, AgentCall& call) {
  // The last part hashes the whole copy.
  return Unary(*agents_.Stub(host), &AgentRpc::WriteBackup, request, call,
               std::max(call_timeout_, absl::Minutes(5)));
}

absl::StatusOr<agent::v1::Instance> GrpcAgentClient::RestoreBackup(
    const Host& host, const agent::v1::RestoreBackupRequest& request, AgentCall& call) {
  return Unary(*agents_.Stub(host), &AgentRpc::RestoreBackup, request, call,
               std::max(call_timeout_, absl::Minutes(30)));
}

absl::Status GrpcAgentClient::DeleteBackup(const Host& host,
                                           const agent::v1::DeleteBackupRequest& request,
                                           AgentCall& call) {
  return Unary(*agents_.Stub(host), &AgentRpc::DeleteBackup, request, call, call_timeout_).status();
}

absl::Status GrpcAgentClient::DeleteInstance(const Host& host,
                                             const agent::v1::DeleteInstanceRequest& request,
                                             AgentCall& call) {
  return Unary(*agents_.Stub(host), &AgentRpc::DeleteInstance, request, call, call_timeout_)
      .status();
}

absl::StatusOr<agent::v1::ExecuteConsoleCommandResponse> GrpcAgentClient::ExecuteConsoleCommand(
    const Host& host, const agent::v1::ExecuteConsoleCommandRequest& request, AgentCall& call) {
  return Unary(*agents_.Stub(host), &AgentRpc::ExecuteConsoleCommand, request, call, call_timeout_);
}

absl::StatusOr<std::vector<agent::v1::LogLine>> GrpcAgentClient::ReadLogs(
    const Host& host, const agent::v1::StreamLogsRequest& request, AgentCall& call) {
  if (request.follow()) return absl::InvalidArgumentError("follow: not for ReadLogs");
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(RealDeadline(call_timeout_)));
  if (!call.Attach([&context] { context.TryCancel(); })) {
    return absl::CancelledError("cancelled");
  }
  std::unique_ptr<grpc::ClientReaderInterface<agent::v1::LogBatch>> reader =
      agents_.Stub(host)->StreamLogs(&context, request);
  std::vector<agent::v1::LogLine> lines;
  agent::v1::LogBatch batch;
  while (reader->Read(&batch)) {
    for (agent::v1::LogLine& line : *batch.mutable_lines()) lines.push_back(std::move(line));
  }
  const absl::Status status = FromGrpcStatus(reader->Finish());
  call.Detach();
  L4D2_RETURN_IF_ERROR(status);
  return lines;
}

absl::Status GrpcAgentClient::FollowLogs(
    const Host& host, const agent::v1::StreamLogsRequest& request,
    const std::function<void(const agent::v1::LogBatch&)>& on_batch, AgentCall& call) {
  if (!request.follow()) return absl::InvalidArgumentError("follow: FollowLogs follows");
  grpc::ClientContext context;
  if (!call.Attach([&context] { context.TryCancel(); })) {
    return absl::CancelledError("cancelled");
  }
  std::unique_ptr<grpc::ClientReaderInterface<agent::v1::LogBatch>> reader =
      agents_.Stub(host)->StreamLogs(&context, request);
  agent::v1::LogBatch batch;
  while (reader->Read(&batch)) on_batch(batch);
  const absl::Status status = FromGrpcStatus(reader->Finish());
  call.Detach();
  return status;
}

}  // namespace l4d2::controller
