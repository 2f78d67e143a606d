#pragma once

// One unary call to many hosts' agents at once (gRPC's callback API), each with the same
// deadline: a silent host costs its timeout once per round, not once per host behind it.

#include <functional>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/blocking_counter.h"
#include "absl/time/clock.h"
#include "common/clock.h"
#include "controller/jobs/agent_connector.h"
#include "grpcpp/client_context.h"
#include "rpc/grpc_status.h"

namespace l4d2::controller {

// `method` is a member of the stub's async interface, e.g.
// &agent::v1::AgentService::StubInterface::async_interface::GetHostInfo. One answer per host,
// in order.
template <typename Request, typename Response>
std::vector<absl::StatusOr<Response>> AskAll(
    AgentConnector& agents, const std::vector<Host>& hosts,
    void (agent::v1::AgentService::StubInterface::async_interface::*method)(
        grpc::ClientContext*, const Request*, Response*, std::function<void(grpc::Status)>),
    const Request& request, absl::Duration timeout) {
  struct Call {
    grpc::ClientContext context;
    Response response;
    grpc::Status status;
  };
  std::vector<std::unique_ptr<Call>> calls;
  absl::BlockingCounter pending(static_cast<int>(hosts.size()));
  const auto deadline = absl::ToChronoTime(RealDeadline(timeout));
  for (const Host& host : hosts) {
    auto call = std::make_unique<Call>();
    call->context.set_deadline(deadline);
    Call* raw = call.get();
    ((agents.Stub(host)->async())->*method)(&raw->context, &request, &raw->response,
                                            [raw, &pending](grpc::Status status) {
                                              raw->status = std::move(status);
                                              pending.DecrementCount();
                                            });
    calls.push_back(std::move(call));
  }
  pending.Wait();
  std::vector<absl::StatusOr<Response>> answers;
  answers.reserve(calls.size());
  for (const auto& call : calls) {
    if (call->status.ok()) {
      answers.push_back(std::move(call->response));
    } else {
      answers.push_back(FromGrpcStatus(call->status));
    }
  }
  return answers;
}

}  // namespace l4d2::controller
