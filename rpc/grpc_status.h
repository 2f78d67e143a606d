#pragma once

// The one mapping between absl::Status and grpc::Status, for the agent and the controller. The
// codes are numerically identical (both are the canonical google.rpc.Code), so only the message
// travels unchanged.

#include "absl/status/status.h"
#include "grpcpp/support/status.h"

namespace l4d2 {

grpc::Status ToGrpcStatus(const absl::Status& status);
absl::Status FromGrpcStatus(const grpc::Status& status);

}  // namespace l4d2
