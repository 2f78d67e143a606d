#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/clock.h"
#include "common/status_macros.h"
#include "controller/api/api_messages.h"
#include "controller/api/event_sources.h"
#include "controller/api/resource_routes.h"
#include "controller/api/rest_support.h"
#include "controller/api/row_json.h"
#include "controller/jobs/agent_client.h"
#include "controller/jobs/server_actions.h"
#include "controller/store/ids.h"

namespace l4d2::controller {
namespace {

// An optional state filter of a list: absent or empty for any, else one of the state's names
// (INVALID_ARGUMENT naming the parameter and what it expects).
template <typename State>
absl::StatusOr<std::optional<State>> StateQuery(const ApiRequest& request, const char* name,
                                                std::optional<State> (*parse)(absl::string_view),
                                                const char* expected) {
  const std::string value = request.Query(name);
  if (value.empty()) return std::nullopt;
  std::optional<State> state = parse(value);
  if (!state.has_value()) {
    return absl::InvalidArgumentError(absl::StrCat(name, ": expected ", expected));
  }
  return state;
}

// Servers: lists, actions through jobs, and their agents' console and logs.
class ServerRoutes {
 public:
  ServerRoutes(const RestApiDeps& deps, const RestApiOptions& options)
      : d_(deps), agent_client_(deps.agents, options.agent_timeout) {}

  // Paged in SQL: the fleet's biggest list.
  absl::StatusOr<ApiResponse> ListServers(const ApiRequest& request) {
    L4D2_ASSIGN_OR_RETURN(PageRequest page, ParsePage(request));
    L4D2_ASSIGN_OR_RETURN(
        std::optional<DesiredState> desired,
        StateQuery(request, "desired_state", ParseDesiredState, "running or stopped"));
    L4D2_ASSIGN_OR_RETURN(std::optional<ServerState> actual,
                          StateQuery(request, "actual_state", ParseServerState,
                                     "stopped, starting, running, stopping, crashed, crash_loop, "
                                     "hung or missing"));
    ServerFilter filter{.host_id = request.Query("host_id"),
                        .blueprint_id = request.Query("blueprint_id"),
                        .desired_state = desired,
                        .actual_state = actual,
                        .name_prefix = request.Query("q"),
                        .limit = page.limit + 1};
    if (!page.token.empty()) filter.after_name = *PageKey(page.token);
    // Ids and revisions from an index; full rows only for those not shown at that revision.
    L4D2_ASSIGN_OR_RETURN(std::vector<RowRevision> servers,
                          d_.stores.servers.ListRevisions(request.actor, filter));
    const size_t count = std::min(servers.size(), static_cast<size_t>(page.limit));
    const std::string next = servers.size() > count ? PageToken(servers[count - 1].name) : "";
    L4D2_ASSIGN_OR_RETURN(std::string body,
                          server_json_.ListJson(absl::MakeConstSpan(servers).first(count), next,
                                                [&](absl::Span<const std::string> ids) {
                                                  return d_.stores.servers.GetMany(request.actor,
                                                                                   ids);
                                                }));
    return ApiResponse{.body = std::move(body)};
  }

  absl::StatusOr<ApiResponse> CreateServer(const ApiRequest& request) {
    L4D2_ASSIGN_OR_RETURN(v1::CreateServerRequest create, Body<v1::CreateServerRequest>(request));
    const std::optional<DesiredState> desired = create.desired_state().empty()
                                                    ? DesiredState::kRunning
                                                    : ParseDesiredState(create.desired_state());
    if (!desired.has_value()) {
      return absl::InvalidArgumentError("desired_state: expected running or stopped");
    }
    L4D2_ASSIGN_OR_RETURN(QueuedServerJob queued,
                          controller::CreateServer(d_.stores, request.actor, create.name(),
                                                   create.blueprint_id(), *desired));
    v1::CreateServerResponse response;
    *response.mutable_server() = ToApi(queued.server);
    response.set_job_id(queued.job_id);
    return Json(response, 202);
  }

  // The row, and its newest sample as live figures (the row holds only what changes rarely).
  absl::StatusOr<ApiResponse> GetServer(const ApiRequest& request) {
    L4D2_ASSIGN_OR_RETURN(Server server, d_.stores.servers.Get(request.actor, request.Param("id")));
    L4D2_ASSIGN_OR_RETURN(std::optional<MetricSample> latest, d_.stores.metrics.Latest(server.id));
    if (!latest.has_value()) return ApiResponse{.body = server_json_.Json(server)};
    v1::Server out = ToApi(server);
    *out.mutable_live() = ToLive(*latest);
    return Json(out);
  }

  absl::StatusOr<ApiResponse> ServerAction(const ApiRequest& request, const std::string& action) {
    L4D2_ASSIGN_OR_RETURN(std::string job_id, RequestServerAction(d_.stores, request.actor,
                                                                  request.Param("id"), action));
    v1::JobRef ref;
    ref.set_job_id(job_id);
    return Json(ref, 202);
  }

  absl::StatusOr<ApiResponse> ChangeServerBlueprint(const ApiRequest& request) {
    L4D2_ASSIGN_OR_RETURN(v1::ChangeBlueprintRequest change,
                          Body<v1::ChangeBlueprintRequest>(request));
    L4D2_ASSIGN_OR_RETURN(
        std::string job_id,
        ChangeBlueprint(d_.stores, request.actor, request.Param("id"), change.blueprint_id()));
    v1::JobRef ref;
    ref.set_job_id(job_id);
    return Json(ref, 202);
  }

  // The server's host, for a call to its agent. FAILED_PRECONDITION before placement.
  absl::StatusOr<std::pair<Server, Host>> Placed(const ApiRequest& request) {
    L4D2_ASSIGN_OR_RETURN(Server server, d_.stores.servers.Get(request.actor, request.Param("id")));
    if (server.host_id.empty()) {
      return absl::FailedPreconditionError(
          absl::StrCat("server '", server.name, "' is not placed on a host yet"));
    }
    L4D2_ASSIGN_OR_RETURN(Host host, d_.stores.hosts.Get(server.host_id));
    return std::make_pair(std::move(server), std::move(host));
  }

  absl::StatusOr<ApiResponse> Console(const ApiRequest& request) {
    L4D2_ASSIGN_OR_RETURN(v1::ConsoleCommandRequest console,
                          Body<v1::ConsoleCommandRequest>(request));
    if (console.command().empty() || console.command().size() > 1000 ||
        console.command().find_first_of("\r\n") != std::string::npos) {
      return absl::InvalidArgumentError("command: 1 to 1000 bytes on one line");
    }
    L4D2_ASSIGN_OR_RETURN(auto placed, Placed(request));
    const auto& [server, host] = placed;
    agent::v1::ExecuteConsoleCommandRequest call;
    call.set_operation_id(absl::StrCat("console:", RandomHex(12)));
    call.set_name(server.name);
    call.set_command(console.command());
    // Audited before it runs: a command that hangs or kills the server is on record too.
    (void)d_.stores.audit.Append(
        request.actor.Name(), "server.console", server.id,
        AuditDetail({{"name", server.name}, {"command", console.command()}}), server.owner_id);
    PlainAgentCall plain;
    L4D2_ASSIGN_OR_RETURN(agent::v1::ExecuteConsoleCommandResponse answer,
                          agent_client_.ExecuteConsoleCommand(host, call, plain));
    d_.events.EchoCommand(server, request.user->username, console.command(), answer.output());
    v1::ConsoleCommandResponse response;
    response.set_output(answer.output());
    return Json(response);
  }

  absl::StatusOr<ApiResponse> Logs(const ApiRequest& request) {
    int lines = 200;
    if (const std::string text = request.Query("lines"); !text.empty()) {
      if (!absl::SimpleAtoi(text, &lines) || lines < 1 || lines > 10000) {
        return absl::InvalidArgumentError("lines: 1 to 10000");
      }
    }
    L4D2_ASSIGN_OR_RETURN(auto placed, Placed(request));
    const auto& [server, host] = placed;
    agent::v1::StreamLogsRequest call;
    call.set_name(server.name);
    call.set_lines(lines);
    call.set_after_cursor(request.Query("after_cursor"));
    PlainAgentCall plain;
    L4D2_ASSIGN_OR_RETURN(std::vector<agent::v1::LogLine> newest,
                          agent_client_.ReadLogs(host, call, plain));
    v1::ServerLogsResponse response;
    for (const agent::v1::LogLine& line : newest) *response.add_lines() = ToApi(line);
    return Json(response);
  }

  // Who is on it: from its log as the controller recorded it (SteamIDs, join times), and asked
  // of the game now when it is placed (A2S_PLAYER through the agent: names, scores). A game or
  // agent that does not answer leaves the A2S part out, not the history.
  absl::StatusOr<ApiResponse> Players(const ApiRequest& request) {
    L4D2_ASSIGN_OR_RETURN(Server server, d_.stores.servers.Get(request.actor, request.Param("id")));
    v1::ServerPlayersResponse response;
    if (!server.host_id.empty()) {
      absl::StatusOr<Host> host = d_.stores.hosts.Get(server.host_id);
      agent::v1::GetInstanceRequest call;
      call.set_name(server.name);
      call.set_include_players(true);
      PlainAgentCall plain;
      absl::StatusOr<agent::v1::Instance> instance =
          host.ok() ? agent_client_.GetInstance(*host, call, plain)
                    : absl::StatusOr<agent::v1::Instance>(host.status());
      if (instance.ok()) *response.mutable_players() = instance->status().game().player_list();
    }
    // With who they are and since when, from the server's log (the player history).
    L4D2_ASSIGN_OR_RETURN(std::vector<PlayerSession> online, d_.stores.players.Online(server.id));
    const absl::Time now = d_.stores.clock.Now();
    for (const PlayerSession& session : online) {
      *response.add_sessions() = ToApi(session, server.name, now);
    }
    L4D2_RETURN_IF_ERROR(AddSteamProfiles(d_.stores.players, *response.mutable_sessions()));
    L4D2_ASSIGN_OR_RETURN(std::optional<ServerGameLog> log, d_.stores.players.GameLog(server.id));
    if (log.has_value()) {
      response.set_map(log->map);
      response.set_update_required(log->update_required);
    }
    return Json(response);
  }

  absl::StatusOr<ApiResponse> ServerMetrics(const ApiRequest& request) {
    L4D2_ASSIGN_OR_RETURN(Server server, d_.stores.servers.Get(request.actor, request.Param("id")));
    const absl::Time now = d_.stores.clock.Now();
    L4D2_ASSIGN_OR_RETURN(absl::Time from, TimeQuery(request, "from", now - absl::Hours(1)));
    L4D2_ASSIGN_OR_RETURN(absl::Time to, TimeQuery(request, "to", now + absl::Seconds(1)));
    if (to <= from) return absl::InvalidArgumentError("to: must be after from");
    int max_points = 1000;
    if (const std::string text = request.Query("max_points"); !text.empty()) {
      if (!absl::SimpleAtoi(text, &max_points) || max_points < 1 ||
          max_points > MetricHistory::kMaxPoints) {
        return absl::InvalidArgumentError(
            absl::StrCat("max_points: 1 to ", MetricHistory::kMaxPoints));
      }
    }
    L4D2_ASSIGN_OR_RETURN(MetricSeriesPoints points,
                          d_.stores.metrics.Read(server.id, from, to, max_points));
    v1::MetricSeries series;
    series.set_server_id(server.id);
    for (const MetricSample& sample : points.points) *series.add_samples() = ToApi(sample);
    *series.mutable_step() = ToDuration(points.step);
    return Json(series);
  }

  absl::StatusOr<ApiResponse> Bulk(const ApiRequest& request) {
    L4D2_ASSIGN_OR_RETURN(v1::BulkActionRequest bulk, Body<v1::BulkActionRequest>(request));
    std::vector<std::string> ids(bulk.server_ids().begin(), bulk.server_ids().end());
    const int selectors = (ids.empty() ? 0 : 1) + (bulk.host_id().empty() ? 0 : 1) +
                          (bulk.blueprint_id().empty() ? 0 : 1);
    if (selectors != 1) {
      return absl::InvalidArgumentError(
          "selection: exactly one of server_ids, host_id or blueprint_id");
    }
    if (ids.size() > 10000) return absl::InvalidArgumentError("server_ids: at most 10000");
    if (ids.empty()) {
      L4D2_ASSIGN_OR_RETURN(
          ids, SelectServers(d_.stores, request.actor,
                             {.host_id = bulk.host_id(), .blueprint_id = bulk.blueprint_id()}));
    }
    absl::Duration stagger =
        absl::Seconds(bulk.stagger().seconds()) + absl::Nanoseconds(bulk.stagger().nanos());
    if (stagger > absl::Hours(1)) return absl::InvalidArgumentError("stagger: at most 1h");
    L4D2_ASSIGN_OR_RETURN(std::vector<std::string> jobs,
                          RequestBulkAction(d_.stores, request.actor, ids, bulk.action(), stagger));
    v1::JobRefs refs;
    for (const std::string& job : jobs) refs.add_job_ids(job);
    return Json(refs, 202);
  }

  absl::StatusOr<StreamRequest> ConsoleStream(const ApiRequest& request) {
    L4D2_ASSIGN_OR_RETURN(Server server, d_.stores.servers.Get(request.actor, request.Param("id")));
    // Recent lines come from the topic's history (the follow starts with the newest lines).
    return StreamRequest{.topic = EventSources::ConsoleTopic(server.id),
                         .after_id = request.last_event_id};
  }

 private:
  RestApiDeps d_;
  RowJsonMemo<Server> server_json_{"servers",
                                   [](const Server& server) { return ToJson(ToApi(server)); }};
  GrpcAgentClient agent_client_;
};

}  // namespace

void AddServerRoutes(const RestApiDeps& deps, const RestApiOptions& options,
                     std::vector<Route>& routes) {
  auto api = std::make_shared<ServerRoutes>(deps, options);
  using M = ServerRoutes;
  auto bind = [api](auto method) { return BindRoute(api, method); };
  AppendRoutes(
      routes,
      {
          {.method = "GET",
           .path = "/api/v1/servers",
           .summary = "Servers",
           .response = v1::ListServersResponse::descriptor(),
           .query = {"host_id", "blueprint_id", "desired_state", "actual_state", "q", "limit",
                     "page_token"},
           .handler = bind(&M::ListServers)},
          {.method = "POST",
           .path = "/api/v1/servers",
           .summary = "Create a server from a blueprint (placed and initialized by a job)",
           .request = v1::CreateServerRequest::descriptor(),
           .response = v1::CreateServerResponse::descriptor(),
           .success_status = 202,
           .handler = bind(&M::CreateServer)},
          {.method = "POST",
           .path = "/api/v1/servers/bulk",
           .summary = "One action over many servers, staggered",
           .request = v1::BulkActionRequest::descriptor(),
           .response = v1::JobRefs::descriptor(),
           .success_status = 202,
           .handler = bind(&M::Bulk)},
          {.method = "GET",
           .path = "/api/v1/servers/{id}",
           .summary = "One server",
           .response = v1::Server::descriptor(),
           .handler = bind(&M::GetServer)},
          {.method = "DELETE",
           .path = "/api/v1/servers/{id}",
           .summary = "Delete a server and its instance (a job)",
           .response = v1::JobRef::descriptor(),
           .success_status = 202,
           .handler = [api](const ApiRequest& r) { return api->ServerAction(r, "delete"); }},
      });
  for (const char* action : {"start", "stop", "restart", "reset"}) {
    routes.push_back({.method = "POST",
                      .path = absl::StrCat("/api/v1/servers/{id}/", action),
                      .summary = absl::StrCat(absl::AsciiStrToUpper(std::string(1, action[0])),
                                              action + 1, " the server (a job)"),
                      .response = v1::JobRef::descriptor(),
                      .success_status = 202,
                      .handler = [api, action = std::string(action)](const ApiRequest& r) {
                        return api->ServerAction(r, action);
                      }});
  }
  AppendRoutes(
      routes,
      {
          {.method = "POST",
           .path = "/api/v1/servers/{id}/blueprint",
           .summary = "Switch the server to another blueprint (a job)",
           .request = v1::ChangeBlueprintRequest::descriptor(),
           .response = v1::JobRef::descriptor(),
           .success_status = 202,
           .handler = bind(&M::ChangeServerBlueprint)},
          {.method = "POST",
           .path = "/api/v1/servers/{id}/console",
           .summary = "Run a console command (RCON); audited and echoed to the console stream",
           .request = v1::ConsoleCommandRequest::descriptor(),
           .response = v1::ConsoleCommandResponse::descriptor(),
           .handler = bind(&M::Console)},
          {.method = "GET",
           .path = "/api/v1/servers/{id}/logs",
           .summary = "The newest log lines",
           .response = v1::ServerLogsResponse::descriptor(),
           .query = {"lines", "after_cursor"},
           .handler = bind(&M::Logs)},
          {.method = "GET",
           .path = "/api/v1/servers/{id}/players",
           .summary = "The players on the server now: asked of the game (name, score, time), and "
                      "from its log (SteamID, join time), with its map and update request",
           .response = v1::ServerPlayersResponse::descriptor(),
           .handler = bind(&M::Players)},
          {.method = "GET",
           .path = "/api/v1/servers/{id}/metrics",
           .summary = "Players, CPU and memory samples for charts",
           .response = v1::MetricSeries::descriptor(),
           .query = {"from", "to"},
           .handler = bind(&M::ServerMetrics)},
          {.method = "GET",
           .path = "/api/v1/servers/{id}/console/stream",
           .summary = "The server's console as Server-Sent Events: recent lines, then live",
           .stream = bind(&M::ConsoleStream)},
      });
}

}  // namespace l4d2::controller
