#pragma once

// The standard gRPC health check (grpc.health.v1), asked of a server: what the agent's watchdog
// and `l4d2-agent join` use to tell that an agent serves.

#include <string>

#include "absl/time/time.h"

namespace l4d2 {

// Whether the server at `target` (e.g. "unix:/run/left4me/agent.sock") answers SERVING by
// `deadline`; with `wait_for_ready`, one not listening yet is waited for until then.
bool AnswersHealthCheck(const std::string& target, absl::Time deadline, bool wait_for_ready);

}  // namespace l4d2
