#include "ctl/agent_channel.h"

#include "absl/strings/match.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/support/channel_arguments.h"

namespace l4d2::ctl {

std::string AgentTarget(const std::string& address) {
  if (absl::StartsWith(address, "unix:") || absl::StartsWith(address, "dns:") ||
      absl::StartsWith(address, "ipv4:") || absl::StartsWith(address, "ipv6:")) {
    return address;
  }
  if (!address.empty() && address.front() == '/') return "unix:" + address;
  return address;
}

std::shared_ptr<grpc::Channel> MakeAgentChannel(const std::string& address) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 30000);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 10000);
  return grpc::CreateCustomChannel(AgentTarget(address), grpc::InsecureChannelCredentials(), args);
}

}  // namespace l4d2::ctl
