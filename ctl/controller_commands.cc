#include "ctl/controller_commands.h"

#include <ostream>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "common/file_util.h"
#include "ctl/command_table.h"
#include "ctl/controller_client.h"
#include "ctl/exit_codes.h"
#include "ctl/overlay_yaml.h"
#include "ctl/spec_yaml.h"
#include "google/protobuf/util/json_util.h"
#include "l4d2/controller/v1/api.pb.h"

namespace l4d2::ctl {
namespace {

namespace v1 = ::l4d2::controller::v1;

int Report(const CommandContext& context, const absl::Status& status) {
  return ReportFailure(*context.err, status);
}

int Usage(const CommandContext& context, const std::string& usage) {
  *context.err << "l4d2ctl: usage: l4d2ctl " << usage << "\n";
  return kExitUsage;
}

std::string Json(const google::protobuf::Message& message) {
  std::string json;
  (void)google::protobuf::util::MessageToJsonString(message, &json);
  return json;
}

template <typename Message>
absl::StatusOr<Message> Get(const CommandContext& context, const std::string& path) {
  absl::StatusOr<std::string> body = context.controller->Call("GET", path);
  if (!body.ok()) return body.status();
  Message message;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;  // a newer controller may say more
  if (!google::protobuf::util::JsonStringToMessage(*body, &message, options).ok()) {
    return absl::InternalError(absl::StrCat("the controller's answer to ", path, " is not JSON"));
  }
  return message;
}

template <typename Message>
absl::StatusOr<Message> Send(const CommandContext& context, const std::string& method,
                             const std::string& path, const std::string& body) {
  absl::StatusOr<std::string> answer = context.controller->Call(method, path, body);
  if (!answer.ok()) return answer.status();
  Message message;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  if (!answer->empty() &&
      !google::protobuf::util::JsonStringToMessage(*answer, &message, options).ok()) {
    return absl::InternalError(absl::StrCat("the controller's answer to ", path, " is not JSON"));
  }
  return message;
}

// Every page of a list, joined.
template <typename Response, typename Item>
absl::StatusOr<std::vector<Item>> All(
    const CommandContext& context, const std::string& path,
    const google::protobuf::RepeatedPtrField<Item>& (Response::*items)() const) {
  std::vector<Item> all;
  std::string token;
  do {
    const std::string page =
        absl::StrCat(path, path.find('?') == std::string::npos ? "?" : "&", "limit=1000",
                     token.empty() ? "" : "&page_token=" + token);
    absl::StatusOr<Response> response = Get<Response>(context, page);
    if (!response.ok()) return response.status();
    for (const Item& item : ((*response).*items)()) all.push_back(item);
    token = response->next_page_token();
  } while (!token.empty());
  return all;
}

// A name (or id) to an object's id.
absl::StatusOr<std::string> ServerId(const CommandContext& context, const std::string& name) {
  absl::StatusOr<std::vector<v1::Server>> servers =
      All(context, "/api/v1/servers?q=" + name, &v1::ListServersResponse::servers);
  if (!servers.ok()) return servers.status();
  for (const v1::Server& server : *servers) {
    if (server.name() == name) return server.id();
  }
  if (Get<v1::Server>(context, "/api/v1/servers/" + name).ok()) return name;
  return absl::NotFoundError(absl::StrCat("no server '", name, "'"));
}

absl::StatusOr<std::string> HostId(const CommandContext& context, const std::string& name) {
  absl::StatusOr<std::vector<v1::Host>> hosts =
      All(context, "/api/v1/hosts", &v1::ListHostsResponse::hosts);
  if (!hosts.ok()) return hosts.status();
  for (const v1::Host& host : *hosts) {
    if (host.name() == name || host.id() == name) return host.id();
  }
  return absl::NotFoundError(absl::StrCat("no host '", name, "'"));
}

// One's own blueprint of that name first (admins see everyone's).
absl::StatusOr<v1::Blueprint> FindBlueprint(const CommandContext& context,
                                            const std::string& name) {
  absl::StatusOr<v1::SessionInfo> me = Get<v1::SessionInfo>(context, "/api/v1/session");
  if (!me.ok()) return me.status();
  absl::StatusOr<std::vector<v1::Blueprint>> blueprints =
      All(context, "/api/v1/blueprints?q=" + name, &v1::ListBlueprintsResponse::blueprints);
  if (!blueprints.ok()) return blueprints.status();
  const v1::Blueprint* found = nullptr;
  for (const v1::Blueprint& blueprint : *blueprints) {
    if (blueprint.name() != name) continue;
    if (found == nullptr || blueprint.owner_id() == me->user().id()) found = &blueprint;
  }
  if (found != nullptr) return *found;
  absl::StatusOr<v1::Blueprint> by_id = Get<v1::Blueprint>(context, "/api/v1/blueprints/" + name);
  if (by_id.ok()) return by_id;
  return absl::NotFoundError(absl::StrCat("no blueprint '", name, "'"));
}

absl::StatusOr<std::vector<v1::Overlay>> Overlays(const CommandContext& context) {
  return All(context, "/api/v1/overlays", &v1::ListOverlaysResponse::overlays);
}

absl::StatusOr<v1::Overlay> FindOverlay(const CommandContext& context, const std::string& ref) {
  absl::StatusOr<std::vector<v1::Overlay>> overlays = Overlays(context);
  if (!overlays.ok()) return overlays.status();
  for (const v1::Overlay& overlay : *overlays) {
    if (overlay.ref() == ref || overlay.id() == ref) return overlay;
  }
  return absl::NotFoundError(absl::StrCat("no overlay '", ref, "'"));
}

std::string Time(const google::protobuf::Timestamp& stamp) {
  if (stamp.seconds() == 0) return "-";
  return absl::FormatTime("%Y-%m-%d %H:%M:%S", absl::FromUnixSeconds(stamp.seconds()),
                          absl::LocalTimeZone());
}

// Follows a job's events to its end: progress and log lines as they come, then its state.
// 0 when it succeeded.
int WatchJob(const CommandContext& context, const std::string& job_id) {
  int exit = kExitFailed;
  absl::Status status = context.controller->Stream(
      "/api/v1/jobs/" + job_id + "/events/stream", [&](const SseFrame& frame) {
        if (context.json) {
          *context.out << frame.data << "\n";
        }
        if (frame.type == "end") {
          v1::Job job;
          google::protobuf::util::JsonParseOptions options;
          options.ignore_unknown_fields = true;
          (void)google::protobuf::util::JsonStringToMessage(frame.data, &job, options);
          if (!context.json) {
            *context.out << "job " << job.id() << " (" << job.kind() << "): " << job.state();
            if (!job.error().message().empty()) *context.out << ": " << job.error().message();
            *context.out << "\n";
          }
          exit = job.state() == "succeeded" ? kExitOk : kExitFailed;
          return false;
        }
        if (!context.json) {
          v1::JobEvent event;
          google::protobuf::util::JsonParseOptions options;
          options.ignore_unknown_fields = true;
          (void)google::protobuf::util::JsonStringToMessage(frame.data, &event, options);
          const auto& data = event.data();
          if (data.has_string_value()) {
            *context.out << event.kind() << ": " << data.string_value() << "\n";
          } else if (data.has_struct_value() && data.struct_value().fields().count("percent")) {
            *context.out << absl::StrFormat(
                "%s: %.0f%%\n", event.kind(),
                data.struct_value().fields().at("percent").number_value());
          }
        }
        return true;
      });
  if (!status.ok()) return Report(context, status);
  return exit;
}

// A queued job: its id, or with --wait its outcome.
int Queued(const CommandContext& context, const std::string& what, const std::string& job_id) {
  if (context.wait) return WatchJob(context, job_id);
  if (context.json) {
    v1::JobRef ref;
    ref.set_job_id(job_id);
    *context.out << Json(ref) << "\n";
  } else {
    *context.out << what << ": job " << job_id << "\n";
  }
  return kExitOk;
}

int ServersList(const CommandContext& context) {
  absl::StatusOr<std::vector<v1::Server>> servers =
      All(context, "/api/v1/servers", &v1::ListServersResponse::servers);
  if (!servers.ok()) return Report(context, servers.status());
  if (context.json) {
    v1::ListServersResponse all;
    for (const v1::Server& server : *servers) *all.add_servers() = server;
    *context.out << Json(all) << "\n";
    return kExitOk;
  }
  *context.out << absl::StrFormat("%-24s %-10s %-10s %-26s %6s %s\n", "NAME", "DESIRED", "ACTUAL",
                                  "HOST", "PORT", "PLAYERS");
  for (const v1::Server& server : *servers) {
    *context.out << absl::StrFormat(
        "%-24s %-10s %-10s %-26s %6d %d/%d\n", server.name(), server.desired_state(),
        server.actual_state().empty() ? "-" : server.actual_state(),
        server.host_id().empty() ? "-" : server.host_id(), server.port(),
        server.status().game().players(), server.status().game().max_players());
  }
  return kExitOk;
}

int ServersBulk(const CommandContext& context, const std::vector<std::string>& args) {
  if (args.size() != 3 || (context.host.empty() == context.blueprint.empty())) {
    return Usage(context,
                 "servers bulk start|stop|restart|reset (--host NAME | --blueprint NAME) "
                 "[--stagger 30s] [--wait]");
  }
  v1::BulkActionRequest bulk;
  bulk.set_action(args[2]);
  if (!context.host.empty()) {
    absl::StatusOr<std::string> host = HostId(context, context.host);
    if (!host.ok()) return Report(context, host.status());
    bulk.set_host_id(*host);
  } else {
    absl::StatusOr<v1::Blueprint> blueprint = FindBlueprint(context, context.blueprint);
    if (!blueprint.ok()) return Report(context, blueprint.status());
    bulk.set_blueprint_id(blueprint->id());
  }
  const int64_t seconds = absl::ToInt64Seconds(context.stagger);
  bulk.mutable_stagger()->set_seconds(seconds);
  absl::StatusOr<v1::JobRefs> refs =
      Send<v1::JobRefs>(context, "POST", "/api/v1/servers/bulk", Json(bulk));
  if (!refs.ok()) return Report(context, refs.status());
  int exit = kExitOk;
  for (const std::string& job : refs->job_ids()) {
    exit = std::max(exit, Queued(context, "servers " + args[2], job));
  }
  if (refs->job_ids().empty() && !context.json) *context.out << "no servers selected\n";
  return exit;
}

int ServerCreate(const CommandContext& context, const std::string& name) {
  if (context.blueprint.empty()) return Usage(context, "servers create NAME --blueprint NAME");
  absl::StatusOr<v1::Blueprint> blueprint = FindBlueprint(context, context.blueprint);
  if (!blueprint.ok()) return Report(context, blueprint.status());
  v1::CreateServerRequest create;
  create.set_name(name);
  create.set_blueprint_id(blueprint->id());
  create.set_desired_state(context.stopped ? "stopped" : "running");
  absl::StatusOr<v1::CreateServerResponse> created =
      Send<v1::CreateServerResponse>(context, "POST", "/api/v1/servers", Json(create));
  if (!created.ok()) return Report(context, created.status());
  return Queued(context, "server " + name + " created", created->job_id());
}

int ServerShow(const CommandContext& context, const std::string& path) {
  absl::StatusOr<std::string> body = context.controller->Call("GET", path);
  if (!body.ok()) return Report(context, body.status());
  if (context.json) {
    *context.out << *body << "\n";
    return kExitOk;
  }
  v1::Server server;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  (void)google::protobuf::util::JsonStringToMessage(*body, &server, options);
  *context.out << "name:      " << server.name() << "\nid:        " << server.id()
               << "\ndesired:   " << server.desired_state()
               << "\nactual:    " << (server.actual_state().empty() ? "-" : server.actual_state())
               << "\nhost:      " << (server.host_id().empty() ? "-" : server.host_id())
               << "\nport:      " << server.port() << "\nblueprint: " << server.blueprint_id()
               << "\nmap:       " << server.status().game().map()
               << "\nplayers:   " << server.status().game().players() << "/"
               << server.status().game().max_players() << "\n";
  return kExitOk;
}

int ServerConsole(const CommandContext& context, const std::string& path,
                  const std::vector<std::string>& args) {
  if (args.size() < 4) return Usage(context, "servers console NAME COMMAND...");
  v1::ConsoleCommandRequest command;
  command.set_command(absl::StrJoin(args.begin() + 3, args.end(), " "));
  absl::StatusOr<v1::ConsoleCommandResponse> answer =
      Send<v1::ConsoleCommandResponse>(context, "POST", path + "/console", Json(command));
  if (!answer.ok()) return Report(context, answer.status());
  *context.out << (context.json ? Json(*answer) + "\n" : answer->output());
  return kExitOk;
}

int ServerLogs(const CommandContext& context, const std::string& path) {
  if (!context.follow) {
    absl::StatusOr<v1::ServerLogsResponse> logs =
        Get<v1::ServerLogsResponse>(context, absl::StrCat(path, "/logs?lines=", context.lines));
    if (!logs.ok()) return Report(context, logs.status());
    for (const v1::LogLine& line : logs->lines()) {
      *context.out << (context.json ? Json(line) : line.text()) << "\n";
    }
    return kExitOk;
  }
  absl::Status status = context.controller->Stream(
      path + "/console/stream",
      [&](const SseFrame& frame) {
        if (context.json) {
          *context.out << frame.data << "\n";
        } else if (frame.type == "line") {
          v1::LogLine line;
          google::protobuf::util::JsonParseOptions options;
          options.ignore_unknown_fields = true;
          (void)google::protobuf::util::JsonStringToMessage(frame.data, &line, options);
          *context.out << line.text() << "\n";
        } else if (frame.type == "command") {
          *context.out << "> " << frame.data << "\n";
        }
        context.out->flush();
        return true;
      },
      /*reconnects=*/1000000);
  return Report(context, status);
}

int Servers(const CommandContext& context, const std::vector<std::string>& args) {
  const std::string verb = args.size() > 1 ? args[1] : "list";
  if (verb == "list") return ServersList(context);
  if (verb == "bulk") return ServersBulk(context, args);
  if (args.size() < 3) {
    return Usage(context,
                 "servers list | show|start|stop|restart|reset|delete NAME | create NAME "
                 "--blueprint NAME [--stopped] | console NAME COMMAND... | logs NAME [--lines N] "
                 "[--follow] | bulk ACTION ...");
  }
  const std::string& name = args[2];
  const std::set<std::string> verbs = {"show",   "start",  "stop",    "restart", "reset",
                                       "delete", "create", "console", "logs"};
  if (!verbs.count(verb)) {
    return Usage(context,
                 "servers list|show|create|start|stop|restart|reset|delete|console|logs|bulk");
  }
  if (verb == "create") return ServerCreate(context, name);
  absl::StatusOr<std::string> id = ServerId(context, name);
  if (!id.ok()) {
    // Deleting what is not there is done.
    if (verb == "delete" && absl::IsNotFound(id.status())) {
      *context.out << "server " << name << " does not exist\n";
      return kExitOk;
    }
    return Report(context, id.status());
  }
  const std::string path = "/api/v1/servers/" + *id;
  if (verb == "show") return ServerShow(context, path);
  if (verb == "console") return ServerConsole(context, path, args);
  if (verb == "logs") return ServerLogs(context, path);
  // start, stop, restart, reset, delete: a job.
  absl::StatusOr<v1::JobRef> ref = verb == "delete"
                                       ? Send<v1::JobRef>(context, "DELETE", path, "")
                                       : Send<v1::JobRef>(context, "POST", path + "/" + verb, "");
  if (!ref.ok()) return Report(context, ref.status());
  return Queued(context, "server " + name + " " + verb, ref->job_id());
}

int HostsList(const CommandContext& context) {
  absl::StatusOr<std::vector<v1::Host>> hosts =
      All(context, "/api/v1/hosts", &v1::ListHostsResponse::hosts);
  if (!hosts.ok()) return Report(context, hosts.status());
  if (context.json) {
    v1::ListHostsResponse all;
    for (const v1::Host& host : *hosts) *all.add_hosts() = host;
    *context.out << Json(all) << "\n";
    return kExitOk;
  }
  *context.out << absl::StrFormat("%-20s %-12s %-8s %-22s %-10s %8s %s\n", "NAME", "STATE",
                                  "DRAINED", "ADDRESS", "BUILD", "SERVERS", "LAST SEEN");
  for (const v1::Host& host : *hosts) {
    *context.out << absl::StrFormat("%-20s %-12s %-8s %-22s %-10s %4d/%-3d %s\n", host.name(),
                                    host.state(), host.drained() ? "yes" : "no", host.address(),
                                    host.installed_build().empty() ? "-" : host.installed_build(),
                                    host.server_count(), host.max_instances(),
                                    Time(host.last_seen_at()));
  }
  return kExitOk;
}

int HostCreate(const CommandContext& context, const std::string& name) {
  if (context.address.empty()) return Usage(context, "hosts create NAME --address HOST:PORT");
  v1::CreateHostRequest create;
  create.set_name(name);
  create.set_address(context.address);
  create.set_max_instances(context.max_instances);
  create.set_port_first(context.port_first);
  create.set_port_last(context.port_last);
  absl::StatusOr<v1::CreateHostResponse> created =
      Send<v1::CreateHostResponse>(context, "POST", "/api/v1/hosts", Json(create));
  if (!created.ok()) return Report(context, created.status());
  if (context.json) {
    *context.out << Json(*created) << "\n";
    return kExitOk;
  }
  *context.out << "host " << name << " created (id " << created->host().id()
               << "), enrolling until " << Time(created->token_expires_at())
               << ".\nEnrollment token (shown once): " << created->enrollment_token()
               << "\nOn the host, with the token in a file only root can read:\n  "
               << created->enroll_command() << "\n";
  return kExitOk;
}

int Hosts(const CommandContext& context, const std::vector<std::string>& args) {
  const std::string verb = args.size() > 1 ? args[1] : "list";
  if (verb == "list") return HostsList(context);
  if (args.size() != 3) {
    return Usage(context,
                 "hosts list | create NAME --address HOST:PORT [--max_instances N] "
                 "[--port_first P --port_last P] | show|drain|undrain|install|delete NAME");
  }
  const std::string& name = args[2];
  if (verb == "create") return HostCreate(context, name);
  absl::StatusOr<std::string> id = HostId(context, name);
  if (!id.ok()) return Report(context, id.status());
  const std::string path = "/api/v1/hosts/" + *id;
  if (verb == "show") {
    absl::StatusOr<std::string> body = context.controller->Call("GET", path);
    if (!body.ok()) return Report(context, body.status());
    *context.out << *body << "\n";
    return kExitOk;
  }
  if (verb == "drain" || verb == "undrain") {
    absl::StatusOr<v1::Host> host = Send<v1::Host>(context, "POST", path + "/" + verb, "");
    if (!host.ok()) return Report(context, host.status());
    *context.out << (context.json
                         ? Json(*host)
                         : absl::StrCat("host ", name,
                                        host->drained() ? " drained" : " takes servers again"))
                 << "\n";
    return kExitOk;
  }
  if (verb == "install") {
    v1::InstallHostRequest install;
    install.set_validate(context.validate);
    install.set_branch(context.branch);
    absl::StatusOr<v1::JobRef> ref =
        Send<v1::JobRef>(context, "POST", path + "/install", Json(install));
    if (!ref.ok()) return Report(context, ref.status());
    return Queued(context, "host " + name + " install", ref->job_id());
  }
  if (verb == "delete") {
    absl::StatusOr<std::string> done = context.controller->Call("DELETE", path);
    if (!done.ok()) return Report(context, done.status());
    *context.out << "host " << name << " deleted\n";
    return kExitOk;
  }
  return Usage(context, "hosts list|show|create|drain|undrain|install|delete");
}

int BlueprintApply(const CommandContext& context, const std::vector<std::string>& args) {
  if (context.spec_file.empty() || args.size() != 2) {
    return Usage(context, "blueprints apply -f BLUEPRINT.yaml");
  }
  absl::StatusOr<std::string> text = ReadFileToString(context.spec_file, 256 * 1024 + 1);
  if (!text.ok()) return Report(context, text.status());
  absl::StatusOr<BlueprintYaml> parsed =
      ParseBlueprintYaml(*text, absl::StrCat("blueprint '", context.spec_file, "'"));
  if (!parsed.ok()) {
    *context.err << "l4d2ctl: " << parsed.status().message() << "\n";
    return kExitUsage;
  }
  v1::BlueprintInput input;
  input.set_name(parsed->name);
  *input.mutable_settings() = parsed->settings;
  if (!parsed->overlays.empty()) {
    absl::StatusOr<std::vector<v1::Overlay>> overlays = Overlays(context);
    if (!overlays.ok()) return Report(context, overlays.status());
    for (const agent::v1::OverlayLayer& layer : parsed->overlays) {
      auto it = std::find_if(overlays->begin(), overlays->end(),
                             [&](const v1::Overlay& o) { return o.ref() == layer.ref(); });
      if (it == overlays->end()) {
        return Report(context, absl::NotFoundError(absl::StrCat("no overlay '", layer.ref(), "'")));
      }
      v1::BlueprintOverlay* overlay = input.add_overlays();
      overlay->set_overlay_id(it->id());
      overlay->set_exec_server_cfg(layer.exec_server_cfg());
    }
  }
  absl::StatusOr<v1::Blueprint> existing = FindBlueprint(context, parsed->name);
  if (!existing.ok() && !absl::IsNotFound(existing.status())) {
    return Report(context, existing.status());
  }
  absl::StatusOr<v1::Blueprint> applied =
      existing.ok()
          ? Send<v1::Blueprint>(context, "PUT", "/api/v1/blueprints/" + existing->id(), Json(input))
          : Send<v1::Blueprint>(context, "POST", "/api/v1/blueprints", Json(input));
  if (!applied.ok()) return Report(context, applied.status());
  *context.out << (context.json ? Json(*applied)
                                : absl::StrCat("blueprint ", applied->name(),
                                               existing.ok() ? " updated" : " created"))
               << "\n";
  return kExitOk;
}

int Blueprints(const CommandContext& context, const std::vector<std::string>& args) {
  const std::string verb = args.size() > 1 ? args[1] : "list";
  if (verb == "list") {
    absl::StatusOr<std::vector<v1::Blueprint>> blueprints =
        All(context, "/api/v1/blueprints", &v1::ListBlueprintsResponse::blueprints);
    if (!blueprints.ok()) return Report(context, blueprints.status());
    if (context.json) {
      v1::ListBlueprintsResponse all;
      for (const v1::Blueprint& blueprint : *blueprints) *all.add_blueprints() = blueprint;
      *context.out << Json(all) << "\n";
      return kExitOk;
    }
    *context.out << absl::StrFormat("%-24s %-10s %-8s %s\n", "NAME", "MODE", "PLAYERS", "ID");
    for (const v1::Blueprint& blueprint : *blueprints) {
      *context.out << absl::StrFormat("%-24s %-10s %-8d %s\n", blueprint.name(),
                                      blueprint.settings().game_mode(),
                                      blueprint.settings().max_players(), blueprint.id());
    }
    return kExitOk;
  }
  if (verb == "apply") return BlueprintApply(context, args);
  if (args.size() != 3)
    return Usage(context, "blueprints list | apply -f FILE | export|delete NAME");
  absl::StatusOr<v1::Blueprint> blueprint = FindBlueprint(context, args[2]);
  if (!blueprint.ok()) return Report(context, blueprint.status());
  if (verb == "export") {
    if (context.json) {
      *context.out << Json(*blueprint) << "\n";
      return kExitOk;
    }
    absl::StatusOr<std::vector<v1::Overlay>> overlays = Overlays(context);
    if (!overlays.ok()) return Report(context, overlays.status());
    std::vector<agent::v1::OverlayLayer> layers;
    for (const v1::BlueprintOverlay& overlay : blueprint->overlays()) {
      agent::v1::OverlayLayer layer;
      for (const v1::Overlay& known : *overlays) {
        if (known.id() == overlay.overlay_id()) layer.set_ref(known.ref());
      }
      if (layer.ref().empty()) layer.set_ref(overlay.overlay_id());
      layer.set_exec_server_cfg(overlay.exec_server_cfg());
      layers.push_back(layer);
    }
    *context.out << BlueprintToYaml(blueprint->name(), blueprint->settings(), layers);
    return kExitOk;
  }
  if (verb == "delete") {
    absl::StatusOr<std::string> done =
        context.controller->Call("DELETE", "/api/v1/blueprints/" + blueprint->id());
    if (!done.ok()) return Report(context, done.status());
    *context.out << "blueprint " << args[2] << " deleted\n";
    return kExitOk;
  }
  return Usage(context, "blueprints list|apply|export|delete");
}

// Creates the overlay, or gives an existing one a new revision.
int ApplyOverlay(const CommandContext& context, const std::string& ref, bool global,
                 const agent::v1::SyncOverlayRequest& source) {
  absl::StatusOr<v1::Overlay> existing = FindOverlay(context, ref);
  if (!existing.ok() && !absl::IsNotFound(existing.status())) {
    return Report(context, existing.status());
  }
  absl::StatusOr<v1::Overlay> applied;
  if (existing.ok()) {
    v1::UpdateOverlayRequest update;
    *update.mutable_source() = source;
    applied = Send<v1::Overlay>(context, "PUT", "/api/v1/overlays/" + existing->id(), Json(update));
  } else {
    v1::CreateOverlayRequest create;
    create.set_ref(ref);
    create.set_global(global);
    *create.mutable_source() = source;
    applied = Send<v1::Overlay>(context, "POST", "/api/v1/overlays", Json(create));
  }
  if (!applied.ok()) return Report(context, applied.status());
  *context.out << (context.json
                       ? Json(*applied)
                       : absl::StrCat("overlay ", ref, " at revision ", applied->revision()))
               << "\n";
  return kExitOk;
}

int OverlaysList(const CommandContext& context) {
  absl::StatusOr<std::vector<v1::Overlay>> overlays = Overlays(context);
  if (!overlays.ok()) return Report(context, overlays.status());
  if (context.json) {
    v1::ListOverlaysResponse all;
    for (const v1::Overlay& overlay : *overlays) *all.add_overlays() = overlay;
    *context.out << Json(all) << "\n";
    return kExitOk;
  }
  *context.out << absl::StrFormat("%-30s %-7s %-9s %s\n", "REF", "GLOBAL", "REVISION", "ID");
  for (const v1::Overlay& overlay : *overlays) {
    *context.out << absl::StrFormat("%-30s %-7s %-9d %s\n", overlay.ref(),
                                    overlay.global() ? "yes" : "no", overlay.revision(),
                                    overlay.id());
  }
  return kExitOk;
}

int OverlaysCommand(const CommandContext& context, const std::vector<std::string>& args) {
  const std::string verb = args.size() > 1 ? args[1] : "list";
  if (verb == "list") return OverlaysList(context);
  if (verb == "apply" && args.size() == 2 && !context.spec_file.empty()) {
    absl::StatusOr<OverlayYaml> file = LoadOverlayYaml(context.spec_file);
    if (!file.ok()) {
      *context.err << "l4d2ctl: overlay '" << context.spec_file << "': " << file.status().message()
                   << "\n";
      return kExitUsage;
    }
    return ApplyOverlay(context, file->ref, file->global, file->source);
  }
  if (args.size() != 3) {
    return Usage(context,
                 "overlays list | apply -f OVERLAY.yaml | apply REF [--global] (--dir DIR | "
                 "--url URL --sha256 HEX | --workshop ID,... | --script FILE) | "
                 "export REF [--dir DIR] | sync|delete REF");
  }
  const std::string& ref = args[2];
  if (verb == "apply") {
    const int sources = (!context.dir.empty()) + (!context.url.empty()) +
                        (!context.script.empty()) +
                        (!context.workshop_items.empty() || !context.workshop_collections.empty());
    if (sources != 1) return Usage(context, "overlays apply REF with exactly one source flag");
    absl::StatusOr<agent::v1::SyncOverlayRequest> source = OverlaySourceFromFlags(context);
    if (!source.ok()) {
      *context.err << "l4d2ctl: " << source.status().message() << "\n";
      return kExitUsage;
    }
    return ApplyOverlay(context, ref, context.global, *source);
  }
  absl::StatusOr<v1::Overlay> overlay = FindOverlay(context, ref);
  if (!overlay.ok()) return Report(context, overlay.status());
  const std::string path = "/api/v1/overlays/" + overlay->id();
  if (verb == "export") {
    if (context.json) {
      *context.out << Json(*overlay) << "\n";
      return kExitOk;
    }
    absl::StatusOr<std::string> yaml =
        OverlayToYaml(overlay->ref(), overlay->global(), overlay->source(), context.dir);
    if (!yaml.ok()) {
      *context.err << "l4d2ctl: " << yaml.status().message() << "\n";
      return kExitUsage;
    }
    *context.out << *yaml;
    return kExitOk;
  }
  if (verb == "sync") {
    absl::StatusOr<v1::JobRefs> refs = Send<v1::JobRefs>(context, "POST", path + "/sync", "");
    if (!refs.ok()) return Report(context, refs.status());
    int exit = kExitOk;
    for (const std::string& job : refs->job_ids()) {
      exit = std::max(exit, Queued(context, "overlay " + ref + " sync", job));
    }
    return exit;
  }
  if (verb == "delete") {
    absl::StatusOr<std::string> done = context.controller->Call("DELETE", path);
    if (!done.ok()) return Report(context, done.status());
    *context.out << "overlay " << ref << " deleted\n";
    return kExitOk;
  }
  return Usage(context, "overlays list|apply|export|sync|delete");
}

int Jobs(const CommandContext& context, const std::vector<std::string>& args) {
  const std::string verb = args.size() > 1 ? args[1] : "list";
  if (verb == "list") {
    std::string path = "/api/v1/jobs?limit=100";
    if (!context.state.empty()) path += "&state=" + context.state;
    absl::StatusOr<v1::ListJobsResponse> jobs = Get<v1::ListJobsResponse>(context, path);
    if (!jobs.ok()) return Report(context, jobs.status());
    if (context.json) {
      *context.out << Json(*jobs) << "\n";
      return kExitOk;
    }
    *context.out << absl::StrFormat("%-34s %-24s %-10s %-8s %s\n", "ID", "KIND", "STATE", "ATTEMPT",
                                    "CREATED");
    for (const v1::Job& job : jobs->jobs()) {
      *context.out << absl::StrFormat("%-34s %-24s %-10s %d/%-6d %s\n", job.id(), job.kind(),
                                      job.state(), job.attempt(), job.max_attempts(),
                                      Time(job.created_at()));
    }
    return kExitOk;
  }
  if (args.size() != 3) return Usage(context, "jobs list [--state S] | show|watch|cancel ID");
  const std::string path = "/api/v1/jobs/" + args[2];
  if (verb == "show") {
    absl::StatusOr<std::string> body = context.controller->Call("GET", path);
    if (!body.ok()) return Report(context, body.status());
    *context.out << *body << "\n";
    return kExitOk;
  }
  if (verb == "watch") return WatchJob(context, args[2]);
  if (verb == "cancel") {
    absl::StatusOr<v1::Job> job = Send<v1::Job>(context, "POST", path + "/cancel", "");
    if (!job.ok()) return Report(context, job.status());
    *context.out << (context.json ? Json(*job)
                                  : absl::StrCat("job ", job->id(), ": ", job->state()))
                 << "\n";
    return kExitOk;
  }
  return Usage(context, "jobs list|show|watch|cancel");
}

int Tokens(const CommandContext& context, const std::vector<std::string>& args) {
  const std::string verb = args.size() > 1 ? args[1] : "list";
  if (verb == "list") {
    absl::StatusOr<v1::ListApiTokensResponse> tokens =
        Get<v1::ListApiTokensResponse>(context, "/api/v1/tokens?limit=1000");
    if (!tokens.ok()) return Report(context, tokens.status());
    if (context.json) {
      *context.out << Json(*tokens) << "\n";
      return kExitOk;
    }
    *context.out << absl::StrFormat("%-34s %-20s %-12s %-20s %s\n", "ID", "NAME", "SCOPES",
                                    "LAST USED", "REVOKED");
    for (const v1::ApiToken& token : tokens->tokens()) {
      *context.out << absl::StrFormat("%-34s %-20s %-12s %-20s %s\n", token.id(), token.name(),
                                      absl::StrJoin(token.scopes(), ","),
                                      Time(token.last_used_at()), Time(token.revoked_at()));
    }
    return kExitOk;
  }
  if (args.size() != 3)
    return Usage(context, "tokens list | create NAME [--scopes read,write] | revoke ID");
  if (verb == "create") {
    v1::CreateApiTokenRequest create;
    create.set_name(args[2]);
    for (const std::string& scope : context.scopes) create.add_scopes(scope);
    absl::StatusOr<v1::CreateApiTokenResponse> made =
        Send<v1::CreateApiTokenResponse>(context, "POST", "/api/v1/tokens", Json(create));
    if (!made.ok()) return Report(context, made.status());
    if (context.json) {
      *context.out << Json(*made) << "\n";
    } else {
      // The only time the secret is shown: on standard output alone, for a file or a vault.
      *context.err << "token " << made->token().id() << " ("
                   << absl::StrJoin(made->token().scopes(), ",") << "); its secret, shown once:\n";
      *context.out << made->secret() << "\n";
    }
    return kExitOk;
  }
  if (verb == "revoke") {
    absl::StatusOr<std::string> done =
        context.controller->Call("DELETE", "/api/v1/tokens/" + args[2]);
    if (!done.ok()) return Report(context, done.status());
    *context.out << "token " << args[2] << " revoked\n";
    return kExitOk;
  }
  return Usage(context, "tokens list|create|revoke");
}

}  // namespace

bool IsControllerCommand(const std::string& noun) {
  return noun != "login" && IsControllerNoun(noun);
}

int RunControllerCommand(const CommandContext& context, const std::vector<std::string>& args) {
  if (context.controller == nullptr) {
    *context.err << "l4d2ctl: '" << args[0]
                 << "' talks to the controller: give --controller URL (or L4D2_CONTROLLER) and "
                    "an API token (--token_file FILE or L4D2_TOKEN)\n";
    return kExitUsage;
  }
  const std::string& noun = args[0];
  if (noun == "servers") return Servers(context, args);
  if (noun == "hosts") return Hosts(context, args);
  if (noun == "blueprints") return Blueprints(context, args);
  if (noun == "overlays") return OverlaysCommand(context, args);
  if (noun == "jobs") return Jobs(context, args);
  return Tokens(context, args);
}

}  // namespace l4d2::ctl
