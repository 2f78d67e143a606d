// l4d2ctl servers ...: the fleet's servers through the controller.

#include <algorithm>
#include <ostream>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "ctl/command_table.h"
#include "ctl/controller_commands.h"
#include "ctl/controller_support.h"
#include "ctl/exit_codes.h"

namespace l4d2::ctl {
namespace {

std::string ServerPath(const std::string& id) { return "/api/v1/servers/" + id; }

}  // namespace

int RunServersList(const CommandContext& context, const Invocation&) {
  absl::StatusOr<std::vector<v1::Server>> servers =
      All(context, "/api/v1/servers", &v1::ListServersResponse::servers);
  if (!servers.ok()) return Report(context, servers.status());
  if (context.json) {
    v1::ListServersResponse all;
    for (const v1::Server& server : *servers) *all.add_servers() = server;
    *context.out << ToJson(all) << "\n";
    return kExitOk;
  }
  // Hosts by name, as operators know them (an operator cannot list hosts: ids then).
  absl::flat_hash_map<std::string, std::string> host_names;
  if (absl::StatusOr<std::vector<v1::Host>> hosts =
          All(context, "/api/v1/hosts", &v1::ListHostsResponse::hosts);
      hosts.ok()) {
    for (const v1::Host& host : *hosts) host_names[host.id()] = host.name();
  }
  *context.out << absl::StrFormat("%-24s %-10s %-10s %-26s %6s %s\n", "NAME", "DESIRED", "ACTUAL",
                                  "HOST", "PORT", "PLAYERS");
  for (const v1::Server& server : *servers) {
    auto name = host_names.find(server.host_id());
    *context.out << absl::StrFormat(
        "%-24s %-10s %-10s %-26s %6d %d/%d\n", server.name(), server.desired_state(),
        server.actual_state().empty() ? "-" : server.actual_state(),
        server.host_id().empty()   ? "-"
        : name != host_names.end() ? name->second
                                   : server.host_id(),
        server.port(), server.status().game().players(), server.status().game().max_players());
  }
  return kExitOk;
}

int RunServersShow(const CommandContext& context, const Invocation& invocation) {
  absl::StatusOr<std::string> id = ServerId(context, invocation.args[0]);
  if (!id.ok()) return Report(context, id.status());
  if (context.json) return PrintRaw(context, ServerPath(*id));
  absl::StatusOr<v1::Server> server = Get<v1::Server>(context, ServerPath(*id));
  if (!server.ok()) return Report(context, server.status());
  const agent::v1::GameStatus& game = server->status().game();
  // The host by name, as operators know it (an operator cannot read hosts: its id then).
  std::string host = server->host_id().empty() ? "-" : server->host_id();
  if (!server->host_id().empty()) {
    absl::StatusOr<v1::Host> found = Get<v1::Host>(context, "/api/v1/hosts/" + host);
    if (found.ok()) host = absl::StrCat(found->name(), " (", host, ")");
  }
  *context.out << "name:      " << server->name() << "\nid:        " << server->id()
               << "\ndesired:   " << server->desired_state()
               << "\nactual:    " << (server->actual_state().empty() ? "-" : server->actual_state())
               << "\nhost:      " << host << "\nport:      " << server->port()
               << "\nblueprint: " << server->blueprint_id() << "\nmap:       " << game.map()
               << "\nplayers:   " << game.players() << "/" << game.max_players() << "\n";
  return kExitOk;
}

int RunServersCreate(const CommandContext& context, const Invocation& invocation) {
  const ServerCreateOptions& options = context.options.server_create;
  if (options.blueprint.empty()) return UsageError(context, invocation, "--blueprint is required");
  const std::string& name = invocation.args[0];
  absl::StatusOr<v1::Blueprint> blueprint = FindBlueprint(context, options.blueprint);
  if (!blueprint.ok()) return Report(context, blueprint.status());
  v1::CreateServerRequest create;
  create.set_name(name);
  create.set_blueprint_id(blueprint->id());
  create.set_desired_state(options.stopped ? "stopped" : "running");
  absl::StatusOr<v1::CreateServerResponse> created =
      Send<v1::CreateServerResponse>(context, "POST", "/api/v1/servers", ToJson(create));
  if (!created.ok()) return Report(context, created.status());
  return Queued(context, "server " + name + " created", created->job_id());
}

// start, stop, restart, reset, delete: a job each.
int RunServersAction(const CommandContext& context, const Invocation& invocation) {
  const std::string& name = invocation.args[0];
  const std::string& verb = invocation.verb;
  absl::StatusOr<std::string> id = ServerId(context, name);
  if (!id.ok()) {
    // Deleting what is not there is done.
    if (verb == "delete" && absl::IsNotFound(id.status())) {
      *context.out << "server " << name << " does not exist\n";
      return kExitOk;
    }
    return Report(context, id.status());
  }
  absl::StatusOr<v1::JobRef> ref =
      verb == "delete" ? Send<v1::JobRef>(context, "DELETE", ServerPath(*id))
                       : Send<v1::JobRef>(context, "POST", ServerPath(*id) + "/" + verb);
  if (!ref.ok()) return Report(context, ref.status());
  return Queued(context, "server " + name + " " + verb, ref->job_id());
}

int RunServersConsole(const CommandContext& context, const Invocation& invocation) {
  absl::StatusOr<std::string> id = ServerId(context, invocation.args[0]);
  if (!id.ok()) return Report(context, id.status());
  v1::ConsoleCommandRequest command;
  command.set_command(absl::StrJoin(invocation.args.begin() + 1, invocation.args.end(), " "));
  absl::StatusOr<v1::ConsoleCommandResponse> answer = Send<v1::ConsoleCommandResponse>(
      context, "POST", ServerPath(*id) + "/console", ToJson(command));
  if (!answer.ok()) return Report(context, answer.status());
  *context.out << (context.json ? ToJson(*answer) + "\n" : answer->output());
  return kExitOk;
}

int RunServersLogs(const CommandContext& context, const Invocation& invocation) {
  absl::StatusOr<std::string> id = ServerId(context, invocation.args[0]);
  if (!id.ok()) return Report(context, id.status());
  const std::string path = ServerPath(*id);
  const LogsOptions& logs = context.options.logs;
  if (!logs.follow) {
    absl::StatusOr<v1::ServerLogsResponse> lines =
        Get<v1::ServerLogsResponse>(context, absl::StrCat(path, "/logs?lines=", logs.lines));
    if (!lines.ok()) return Report(context, lines.status());
    for (const v1::LogLine& line : lines->lines()) {
      *context.out << (context.json ? ToJson(line) : line.text()) << "\n";
    }
    return kExitOk;
  }
  absl::Status status = context.controller->Stream(
      path + "/console/stream",
      [&](const SseFrame& frame) {
        if (context.json) {
          *context.out << frame.data << "\n";
        } else if (frame.type == "line") {
          *context.out
              << FromJsonIgnoringUnknown<v1::LogLine>(frame.data).value_or(v1::LogLine()).text()
              << "\n";
        } else if (frame.type == "command") {
          *context.out << "> " << frame.data << "\n";
        }
        context.out->flush();
        return true;
      },
      /*reconnects=*/1000000);
  return Report(context, status);
}

int RunServersBulk(const CommandContext& context, const Invocation& invocation) {
  const ServersBulkOptions& options = context.options.servers_bulk;
  if (options.host.empty() == options.blueprint.empty()) {
    return UsageError(context, invocation, "give --host or --blueprint");
  }
  const std::string& action = invocation.args[0];
  v1::BulkActionRequest bulk;
  bulk.set_action(action);
  if (!options.host.empty()) {
    absl::StatusOr<std::string> host = HostId(context, options.host);
    if (!host.ok()) return Report(context, host.status());
    bulk.set_host_id(*host);
  } else {
    absl::StatusOr<v1::Blueprint> blueprint = FindBlueprint(context, options.blueprint);
    if (!blueprint.ok()) return Report(context, blueprint.status());
    bulk.set_blueprint_id(blueprint->id());
  }
  bulk.mutable_stagger()->set_seconds(absl::ToInt64Seconds(options.stagger));
  absl::StatusOr<v1::JobRefs> refs =
      Send<v1::JobRefs>(context, "POST", "/api/v1/servers/bulk", ToJson(bulk));
  if (!refs.ok()) return Report(context, refs.status());
  int exit = kExitOk;
  for (const std::string& job : refs->job_ids()) {
    exit = std::max(exit, Queued(context, "servers " + action, job));
  }
  if (refs->job_ids().empty() && !context.json) *context.out << "no servers selected\n";
  return exit;
}

}  // namespace l4d2::ctl
