#include "ctl/agent_commands.h"

#include <ostream>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "google/protobuf/util/json_util.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/client_context.h"
#include "l4d2/agent/v1/agent_service.grpc.pb.h"

namespace l4d2::ctl {
namespace {

constexpr int kExitOk = 0;
constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;
constexpr int kExitUnreachable = 3;

int ReportRpcError(const CommandContext& context, const grpc::Status& status) {
  *context.err << "l4d2ctl: " << status.error_message() << "\n";
  return status.error_code() == grpc::StatusCode::UNAVAILABLE ||
                 status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED
             ? kExitUnreachable
             : kExitFailed;
}

void SetDeadline(const CommandContext& context, grpc::ClientContext* client) {
  client->set_deadline(absl::ToChronoTime(absl::Now() + context.timeout));
}

std::string ToJson(const google::protobuf::Message& message) {
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  options.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(message, &json, options);
  return json;
}

std::string Bytes(uint64_t bytes) { return absl::StrCat(bytes / (1024 * 1024), " MiB"); }

}  // namespace

int RunHostCommand(const CommandContext& context) {
  auto stub = agent::v1::AgentService::NewStub(context.channel);
  grpc::ClientContext client;
  SetDeadline(context, &client);
  agent::v1::HostInfo info;
  grpc::Status status = stub->GetHostInfo(&client, agent::v1::GetHostInfoRequest(), &info);
  if (!status.ok()) return ReportRpcError(context, status);
  if (context.json) {
    *context.out << ToJson(info);
    return kExitOk;
  }
  std::ostream& out = *context.out;
  out << "hostname:        " << info.hostname() << "\n"
      << "agent version:   " << info.agent_version() << "\n"
      << "boot id:         " << info.boot_id() << "\n"
      << "cpus:            " << info.cpu_count() << "\n"
      << "memory:          " << Bytes(info.memory_available_bytes()) << " available of "
      << Bytes(info.memory_total_bytes()) << "\n"
      << "disk:            " << Bytes(info.disk_free_bytes()) << " free of "
      << Bytes(info.disk_total_bytes()) << " (" << info.root() << ")\n"
      << "installed build: "
      << (info.installed_build_id().empty() ? "(not installed)" : info.installed_build_id()) << "\n"
      << "ports:           " << info.port_range().first() << "-" << info.port_range().last() << "\n"
      << "instances:       " << info.instance_count() << " (" << info.running_instance_count()
      << " running)\n"
      << "load (1m):       " << info.load_average_1m() << "\n";
  return kExitOk;
}

int RunHealthCommand(const CommandContext& context) {
  auto stub = grpc::health::v1::Health::NewStub(context.channel);
  grpc::ClientContext client;
  SetDeadline(context, &client);
  grpc::health::v1::HealthCheckResponse response;
  grpc::Status status = stub->Check(&client, grpc::health::v1::HealthCheckRequest(), &response);
  if (!status.ok()) return ReportRpcError(context, status);
  if (context.json) {
    *context.out << ToJson(response);
  } else {
    *context.out << grpc::health::v1::HealthCheckResponse::ServingStatus_Name(response.status())
                 << "\n";
  }
  return response.status() == grpc::health::v1::HealthCheckResponse::SERVING ? kExitOk
                                                                             : kExitFailed;
}

int RunAgentCommand(const CommandContext& context, const std::vector<std::string>& args) {
  if (args.empty()) {
    *context.err << "l4d2ctl: no command given (see l4d2ctl --help)\n";
    return kExitUsage;
  }
  const std::string& command = args[0];
  if (args.size() != 1) {
    *context.err << "l4d2ctl: '" << command << "' takes no arguments\n";
    return kExitUsage;
  }
  if (command == "host") return RunHostCommand(context);
  if (command == "health") return RunHealthCommand(context);
  *context.err << "l4d2ctl: unknown command '" << command << "' (see l4d2ctl --help)\n";
  return kExitUsage;
}

}  // namespace l4d2::ctl
