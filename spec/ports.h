#pragma once

// The error an agent gives when an instance's port is taken on its host, and how a controller
// recognizes it across gRPC (code FAILED_PRECONDITION, message "port N is taken by ..."): the
// controller then places the server on another port (controller/jobs/job_kinds.cc).

#include <optional>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace l4d2::spec {

// FAILED_PRECONDITION "port <port> is taken by <holder>", e.g. holder "instance 'alpha'" or
// "another process on this host".
absl::Status PortTakenError(int port, absl::string_view holder);

// The port of a PortTakenError, wherever its message sits in `status` (callers prefix context);
// nullopt for any other status.
std::optional<int> TakenPort(const absl::Status& status);

}  // namespace l4d2::spec
