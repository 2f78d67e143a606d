#pragma once

// Channels from l4d2ctl to an agent: "unix:/run/left4me/agent.sock" (local, permissions of the
// socket decide access) or "host:port" (TCP). Keepalive matches the agent's server settings.

#include <memory>
#include <string>

#include "grpcpp/channel.h"

namespace l4d2::ctl {

// The address form l4d2ctl accepts, as a gRPC target.
std::string AgentTarget(const std::string& address);

std::shared_ptr<grpc::Channel> MakeAgentChannel(const std::string& address);

}  // namespace l4d2::ctl
