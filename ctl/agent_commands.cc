#include "ctl/agent_commands.h"

#include <algorithm>
#include <filesystem>
#include <ostream>
#include <random>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/file_util.h"
#include "ctl/command_table.h"
#include "ctl/exit_codes.h"
#include "ctl/output.h"
#include "google/protobuf/util/json_util.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/client_context.h"
#include "l4d2/agent/v1/agent_service.grpc.pb.h"
#include "spec/spec_yaml.h"

namespace l4d2::ctl {
namespace {

int ReportRpcError(const CommandContext& context, const grpc::Status& status) {
  *context.err << "l4d2ctl: " << status.error_message() << "\n";
  return status.error_code() == grpc::StatusCode::UNAVAILABLE ||
                 status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED
             ? kExitUnreachable
             : kExitFailed;
}

void SetDeadline(const CommandContext& context, grpc::ClientContext* client) {
  client->set_deadline(absl::ToChronoTime(RealDeadline(context.timeout)));
}

std::string ToJson(const google::protobuf::Message& message) {
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  options.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(message, &json, options);
  return json;
}

}  // namespace

int RunHostCommand(const CommandContext& context, const Invocation&) {
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
      << "memory:          " << HumanBytes(info.memory_available_bytes()) << " available of "
      << HumanBytes(info.memory_total_bytes()) << "\n"
      << "disk:            " << HumanBytes(info.disk_free_bytes()) << " free of "
      << HumanBytes(info.disk_total_bytes()) << " (" << info.root() << ")\n"
      << "installed build: "
      << (info.installed_build_id().empty() ? "(not installed)" : info.installed_build_id()) << "\n"
      << "ports:           " << info.port_range().first() << "-" << info.port_range().last() << "\n"
      << "instances:       " << info.instance_count() << " (" << info.running_instance_count()
      << " running)\n"
      << "load (1m):       " << info.load_average_1m() << "\n";
  return kExitOk;
}

int RunHealthCommand(const CommandContext& context, const Invocation&) {
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

std::string NewOperationId() {
  std::random_device random;
  return absl::StrCat("l4d2ctl-", absl::ToUnixMillis(Clock::Real().Now()), "-",
                      absl::Hex(uint64_t{random()} << 32 | random(), absl::kZeroPad16));
}

namespace {

// "downloading  [#########...........]  45.2%  1.2 GiB / 2.6 GiB"
std::string ProgressLine(const agent::v1::Progress& progress, bool bar) {
  std::string line = absl::StrFormat("%-18s", progress.phase());
  if (progress.percent() >= 0) {
    if (bar) {
      int filled = static_cast<int>(progress.percent() / 5);
      absl::StrAppend(&line, " [", std::string(std::clamp(filled, 0, 20), '#'),
                      std::string(20 - std::clamp(filled, 0, 20), '.'), "]");
    }
    absl::StrAppend(&line, absl::StrFormat(" %5.1f%%", progress.percent()));
  }
  if (progress.bytes_total() > 0) {
    absl::StrAppend(&line, "  ", HumanBytes(progress.bytes_done()), " / ",
                    HumanBytes(progress.bytes_total()));
  }
  if (progress.percent() < 0 && !progress.message().empty()) {
    absl::StrAppend(&line, " ", progress.message());
  }
  return line;
}

std::string OneLineJson(const google::protobuf::Message& message) {
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(message, &json, options);
  return json;
}

}  // namespace

int RunInstallCommand(const CommandContext& context, const Invocation&) {
  auto stub = agent::v1::AgentService::NewStub(context.channel);
  grpc::ClientContext client;
  agent::v1::InstallRequest request;
  request.set_operation_id(context.operation_id.empty() ? NewOperationId() : context.operation_id);
  request.set_validate(context.options.install.validate);
  request.set_branch(context.options.install.branch);
  request.set_use_steam_account(context.options.install.steam_account);
  auto reader = stub->Install(&client, request);
  agent::v1::InstallEvent event;
  bool bar_open = false;
  agent::v1::InstallResult result;
  while (reader->Read(&event)) {
    if (context.json) {
      *context.out << OneLineJson(event) << "\n";
    } else if (event.has_progress()) {
      if (context.terminal) {
        *context.out << "\r\x1b[K" << ProgressLine(event.progress(), true) << std::flush;
        bar_open = true;
      } else {
        *context.out << ProgressLine(event.progress(), false) << "\n";
      }
    }
    if (event.has_result()) result = event.result();
  }
  if (bar_open) *context.out << "\n";
  grpc::Status status = reader->Finish();
  if (!status.ok()) return ReportRpcError(context, status);
  if (!context.json) {
    *context.out << "installed build " << result.build_id()
                 << (result.changed() ? "" : " (already up to date)") << "\n";
  }
  return kExitOk;
}

int RunCheckUpdateCommand(const CommandContext& context, const Invocation&) {
  auto stub = agent::v1::AgentService::NewStub(context.channel);
  grpc::ClientContext client;
  // steamcmd answers in seconds; allow for a slow Steam.
  client.set_deadline(
      absl::ToChronoTime(RealDeadline(std::max(context.timeout, absl::Minutes(3)))));
  agent::v1::CheckForUpdateRequest request;
  request.set_branch(context.options.install.branch);
  agent::v1::CheckForUpdateResponse response;
  grpc::Status status = stub->CheckForUpdate(&client, request, &response);
  if (!status.ok()) return ReportRpcError(context, status);
  if (context.json) {
    *context.out << ToJson(response);
    return kExitOk;
  }
  *context.out << "installed: "
               << (response.installed_build_id().empty() ? "(not installed)"
                                                         : response.installed_build_id())
               << "\nlatest:    " << response.latest_build_id() << "\n"
               << (response.update_available() ? "an update is available\n" : "up to date\n");
  return kExitOk;
}

namespace {

std::string StateName(agent::v1::InstanceState state) {
  absl::string_view name = agent::v1::InstanceState_Name(state);
  absl::ConsumePrefix(&name, "INSTANCE_STATE_");
  return absl::AsciiStrToLower(name);
}

void PrintInstance(const CommandContext& context, const agent::v1::Instance& instance) {
  if (context.json) {
    *context.out << ToJson(instance);
    return;
  }
  const agent::v1::InstanceStatus& status = instance.status();
  const agent::v1::UnitStatus& unit = status.unit();
  std::ostream& out = *context.out;
  out << "name:      " << instance.name() << "\n"
      << "state:     " << StateName(status.state())
      << (status.restart_pending() ? " (restart pending)" : "") << "\n"
      << "port:      " << instance.spec().port() << "\n"
      << "unit:      " << unit.unit_name() << " " << unit.active_state() << "/" << unit.sub_state();
  if (unit.main_pid() > 0) out << ", pid " << unit.main_pid();
  out << ", " << unit.restart_count() << " restarts\n";
  if (status.has_game()) {
    const agent::v1::GameStatus& game = status.game();
    if (game.reachable()) {
      out << "game:      \"" << game.name() << "\" on " << game.map() << ", " << game.players()
          << "/" << game.max_players() << " players\n";
      for (const agent::v1::Player& player : game.player_list()) {
        out << "  player:  " << player.name() << " (score " << player.score() << ")\n";
      }
    } else {
      out << "game:      not answering (" << game.error() << ")\n";
    }
  }
  out << "overlay:   " << (status.overlay_mounted() ? "mounted" : "not mounted") << "\n";
  if (!instance.build_id().empty()) out << "build:     " << instance.build_id() << "\n";
  for (const agent::v1::PinnedLayer& layer : instance.layers()) {
    out << "layer:     " << layer.ref() << " @ " << layer.version() << "\n";
  }
}

std::unique_ptr<grpc::ClientContext> Deadline(const CommandContext& context,
                                              absl::Duration at_least) {
  auto client = std::make_unique<grpc::ClientContext>();
  client->set_deadline(absl::ToChronoTime(RealDeadline(std::max(context.timeout, at_least))));
  return client;
}

}  // namespace

int RunInstanceCommand(const CommandContext& context, const Invocation& invocation) {
  const std::string& verb = invocation.noun;
  const std::string& name = invocation.args[0];
  const std::string& spec_file = context.options.file;
  if (verb == "initialize" && spec_file.empty()) return UsageError(context, invocation);
  auto stub = agent::v1::AgentService::NewStub(context.channel);
  const std::string operation_id =
      context.operation_id.empty() ? NewOperationId() : context.operation_id;
  agent::v1::Instance instance;
  grpc::Status status;
  // Starting and stopping wait for systemd (a stop may take the game's 15 s to quit).
  auto client = Deadline(context, absl::Minutes(2));
  if (verb == "initialize") {
    absl::StatusOr<agent::v1::InstanceSpec> spec = spec::LoadInstanceSpecFile(spec_file);
    if (!spec.ok()) {
      *context.err << "l4d2ctl: " << spec.status().message() << "\n";
      return kExitUsage;
    }
    agent::v1::InitializeInstanceRequest request;
    request.set_operation_id(operation_id);
    request.set_name(name);
    *request.mutable_spec() = *spec;
    status = stub->InitializeInstance(client.get(), request, &instance);
  } else if (verb == "start") {
    agent::v1::StartInstanceRequest request;
    request.set_operation_id(operation_id);
    request.set_name(name);
    status = stub->StartInstance(client.get(), request, &instance);
  } else if (verb == "stop") {
    agent::v1::StopInstanceRequest request;
    request.set_operation_id(operation_id);
    request.set_name(name);
    status = stub->StopInstance(client.get(), request, &instance);
  } else if (verb == "restart") {
    agent::v1::RestartInstanceRequest request;
    request.set_operation_id(operation_id);
    request.set_name(name);
    status = stub->RestartInstance(client.get(), request, &instance);
  } else if (verb == "reset") {
    agent::v1::ResetInstanceRequest request;
    request.set_operation_id(operation_id);
    request.set_name(name);
    status = stub->ResetInstance(client.get(), request, &instance);
  } else if (verb == "delete") {
    agent::v1::DeleteInstanceRequest request;
    request.set_operation_id(operation_id);
    request.set_name(name);
    agent::v1::DeleteInstanceResponse response;
    status = stub->DeleteInstance(client.get(), request, &response);
    if (!status.ok()) return ReportRpcError(context, status);
    if (context.json) {
      *context.out << ToJson(response);
    } else {
      *context.out << name << (response.existed() ? ": deleted\n" : ": nothing to delete\n");
    }
    return kExitOk;
  } else {  // status
    agent::v1::GetInstanceRequest request;
    request.set_name(name);
    request.set_include_players(true);
    status = stub->GetInstance(client.get(), request, &instance);
  }
  if (!status.ok()) return ReportRpcError(context, status);
  PrintInstance(context, instance);
  return kExitOk;
}

int RunConsoleCommand(const CommandContext& context, const Invocation& invocation) {
  const std::string& name = invocation.args[0];
  const std::string command =
      absl::StrJoin(invocation.args.begin() + 1, invocation.args.end(), " ");
  auto stub = agent::v1::AgentService::NewStub(context.channel);
  auto client = Deadline(context, absl::Seconds(10));
  agent::v1::ExecuteConsoleCommandRequest request;
  request.set_operation_id(context.operation_id.empty() ? NewOperationId() : context.operation_id);
  request.set_name(name);
  request.set_command(command);
  agent::v1::ExecuteConsoleCommandResponse response;
  grpc::Status status = stub->ExecuteConsoleCommand(client.get(), request, &response);
  if (!status.ok()) return ReportRpcError(context, status);
  if (context.json) {
    *context.out << ToJson(response);
  } else {
    *context.out << response.output();
  }
  return kExitOk;
}

int RunLogsCommand(const CommandContext& context, const Invocation& invocation) {
  const std::string& name = invocation.args[0];
  const LogsOptions& logs = context.options.logs;
  auto stub = agent::v1::AgentService::NewStub(context.channel);
  grpc::ClientContext client;
  if (!logs.follow) {
    client.set_deadline(
        absl::ToChronoTime(RealDeadline(std::max(context.timeout, absl::Minutes(1)))));
  }
  agent::v1::StreamLogsRequest request;
  request.set_name(name);
  request.set_lines(logs.lines);
  request.set_follow(logs.follow);
  request.set_after_cursor(logs.after_cursor);
  auto reader = stub->StreamLogs(&client, request);
  agent::v1::LogBatch batch;
  while (reader->Read(&batch)) {
    for (const agent::v1::LogLine& line : batch.lines()) {
      if (context.json) {
        *context.out << OneLineJson(line) << "\n";
      } else {
        *context.out << line.text() << "\n";
      }
    }
    context.out->flush();
  }
  grpc::Status status = reader->Finish();
  if (!status.ok()) return ReportRpcError(context, status);
  return kExitOk;
}

absl::StatusOr<agent::v1::SyncOverlayRequest> OverlaySourceFromFlags(
    const OverlaySourceOptions& flags) {
  agent::v1::SyncOverlayRequest request;
  if (!flags.workshop_items.empty() || !flags.workshop_collections.empty()) {
    for (uint64_t id : flags.workshop_items) request.mutable_workshop()->add_item_ids(id);
    for (uint64_t id : flags.workshop_collections) {
      request.mutable_workshop()->add_collection_ids(id);
    }
  }
  if (!flags.url.empty()) {
    agent::v1::Archive* archive = request.mutable_archive();
    archive->set_url(flags.url);
    archive->set_sha256(flags.sha256);
    archive->set_destination(flags.destination);
    archive->set_strip_components(static_cast<uint32_t>(std::max(0, flags.strip_components)));
  }
  if (!flags.script.empty()) {
    absl::StatusOr<std::string> source = ReadFileToString(flags.script, 16 << 20);
    if (!source.ok()) return source.status();
    agent::v1::Script* script = request.mutable_script();
    script->set_source(*std::move(source));
    script->set_network(flags.network);
    if (flags.script_timeout > absl::ZeroDuration()) {
      const int64_t seconds = absl::ToInt64Seconds(flags.script_timeout);
      script->mutable_timeout()->set_seconds(seconds);
      script->mutable_timeout()->set_nanos(static_cast<int32_t>(
          absl::ToInt64Nanoseconds(flags.script_timeout - absl::Seconds(seconds))));
    }
  }
  std::error_code error;
  const std::filesystem::path root(flags.dir);
  for (auto it = flags.dir.empty() ? std::filesystem::recursive_directory_iterator()
                                   : std::filesystem::recursive_directory_iterator(root, error);
       !error && it != std::filesystem::recursive_directory_iterator(); it.increment(error)) {
    if (!it->is_regular_file() || it->is_symlink()) continue;
    absl::StatusOr<std::string> content = ReadFileToString(it->path().string(), 16 << 20);
    if (!content.ok()) return content.status();
    agent::v1::InlineFile* file = request.mutable_inline_files()->add_files();
    file->set_path(std::filesystem::relative(it->path(), root).string());
    file->set_content(*std::move(content));
    // A layer holds 0644 and 0755 only (ValidateInlineFile): the owner's execute bit decides.
    const auto permissions = std::filesystem::status(it->path()).permissions();
    file->set_mode(
        (permissions & std::filesystem::perms::owner_exec) != std::filesystem::perms::none ? 0755
                                                                                           : 0644);
  }
  if (error) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot read '", flags.dir, "': ", error.message()));
  }
  return request;
}

int RunOverlayListCommand(const CommandContext& context, const Invocation&) {
  auto stub = agent::v1::AgentService::NewStub(context.channel);
  auto client = Deadline(context, absl::Seconds(30));
  agent::v1::ListOverlaysResponse response;
  grpc::Status status =
      stub->ListOverlays(client.get(), agent::v1::ListOverlaysRequest(), &response);
  if (!status.ok()) return ReportRpcError(context, status);
  if (context.json) {
    *context.out << ToJson(response);
    return kExitOk;
  }
  *context.out << absl::StrFormat("%-30s %-8s %-14s %s\n", "REF", "CURRENT", "VERSIONS", "USED BY");
  for (const agent::v1::Overlay& overlay : response.overlays()) {
    *context.out << absl::StrFormat(
        "%-30s %-8s %-14s %s\n", overlay.ref(), overlay.current_version(),
        absl::StrJoin(overlay.versions(), ","), absl::StrJoin(overlay.used_by(), ","));
  }
  return kExitOk;
}

int RunOverlaySyncCommand(const CommandContext& context, const Invocation& invocation) {
  if (context.options.overlay_source.Count() != 1) {
    return UsageError(context, invocation, "give exactly one source");
  }
  auto stub = agent::v1::AgentService::NewStub(context.channel);
  absl::StatusOr<agent::v1::SyncOverlayRequest> source =
      OverlaySourceFromFlags(context.options.overlay_source);
  if (!source.ok()) {
    *context.err << "l4d2ctl: " << source.status().message() << "\n";
    return kExitUsage;
  }
  agent::v1::SyncOverlayRequest request = *std::move(source);
  request.set_operation_id(context.operation_id.empty() ? NewOperationId() : context.operation_id);
  request.set_ref(invocation.args[0]);
  grpc::ClientContext client;
  auto reader = stub->SyncOverlay(&client, request);
  agent::v1::OverlaySyncEvent event;
  agent::v1::OverlaySyncResult result;
  while (reader->Read(&event)) {
    if (context.json) {
      *context.out << OneLineJson(event) << "\n";
    } else if (event.has_log_line()) {
      // The script's own output, as it comes.
      *context.err << event.log_line() << "\n";
    }
    if (event.has_result()) result = event.result();
  }
  grpc::Status status = reader->Finish();
  if (!status.ok()) return ReportRpcError(context, status);
  if (!context.json) {
    *context.out << "overlay " << result.ref() << ": version " << result.version()
                 << (result.changed() ? "" : " (unchanged)") << ", " << result.file_count()
                 << " files, " << result.size_bytes() << " bytes\n";
  }
  return kExitOk;
}

int RunListCommand(const CommandContext& context, const Invocation&) {
  auto stub = agent::v1::AgentService::NewStub(context.channel);
  auto client = Deadline(context, absl::Seconds(30));
  agent::v1::ListInstancesRequest request;
  request.set_include_game_status(true);
  agent::v1::ListInstancesResponse response;
  grpc::Status status = stub->ListInstances(client.get(), request, &response);
  if (!status.ok()) return ReportRpcError(context, status);
  if (context.json) {
    *context.out << ToJson(response);
    return kExitOk;
  }
  *context.out << absl::StrFormat("%-20s %-11s %6s  %s\n", "NAME", "STATE", "PORT", "GAME");
  for (const agent::v1::Instance& instance : response.instances()) {
    const agent::v1::GameStatus& game = instance.status().game();
    *context.out << absl::StrFormat(
        "%-20s %-11s %6d  %s\n", instance.name(), StateName(instance.status().state()),
        instance.spec().port(),
        game.reachable() ? absl::StrCat(game.map(), " ", game.players(), "/", game.max_players())
                         : "-");
  }
  for (const agent::v1::Orphan& orphan : response.orphans()) {
    *context.out << "orphan: " << orphan.name() << " " << orphan.detail() << "\n";
  }
  return kExitOk;
}

}  // namespace l4d2::ctl
