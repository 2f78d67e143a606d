// libFuzzer: the HTTP API's handlers with hostile query strings and bodies. Each input picks a
// route, a caller (admin or operator) and an object id, then gives the query string and the
// body. Whatever comes in, a handler answers with a client error or success, never a server
// error (500): bad input gets a clear error and changes nothing else.
//
// Input: byte 0 route, byte 1 caller, byte 2 id, then "<query>\n<body>".
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <iostream>

#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/clock.h"
#include "common/logging.h"
#include "controller/api/api_metrics.h"
#include "controller/api/authenticator.h"
#include "controller/api/errors.h"
#include "controller/api/event_sources.h"
#include "controller/api/rest_api.h"
#include "controller/api/sse_hub.h"
#include "controller/auth/login_limiter.h"
#include "controller/jobs/agent_client.h"
#include "controller/jobs/agent_connector.h"
#include "controller/jobs/server_actions.h"
#include "controller/store/migrations.h"

namespace l4d2::controller {
namespace {

struct World {
  std::unique_ptr<Database> db;
  std::unique_ptr<FleetStores> stores;
  std::unique_ptr<UserStore> users;
  std::unique_ptr<SessionStore> sessions;
  std::unique_ptr<ApiTokenStore> tokens;
  std::unique_ptr<LoginLimiter> limiter;
  std::unique_ptr<SseHub> hub;
  std::unique_ptr<EventSources> events;
  std::unique_ptr<ApiMetrics> metrics;
  std::unique_ptr<Authenticator> authenticator;
  PlaintextAgentConnector agents;
  GrpcAgentClient agent_client{agents, absl::Seconds(1)};
  std::vector<Route> routes;
  User admin, alice;
  std::vector<std::string> ids;
};

World& TheWorld() {
  static World* world = [] {
    SetMinLogSeverity(LogSeverity::kError);
    auto* w = new World;
    const std::string path = (std::filesystem::temp_directory_path() /
                              ("l4d2-api-fuzz-" + std::to_string(getpid()) + ".db"))
                                 .string();
    std::filesystem::remove(path);
    w->db = *Database::Open({.url = "sqlite3:" + path});
    if (!ApplyMigrations(*w->db, ControllerMigrations(), Clock::Real()).ok()) std::abort();
    w->stores = std::make_unique<FleetStores>(*w->db, Clock::Real());
    w->users = std::make_unique<UserStore>(*w->db, Clock::Real(), PasswordCost::Minimal());
    w->sessions = std::make_unique<SessionStore>(*w->db, Clock::Real());
    w->tokens = std::make_unique<ApiTokenStore>(*w->db, Clock::Real());
    w->limiter = std::make_unique<LoginLimiter>(Clock::Real());
    w->hub = std::make_unique<SseHub>();
    w->events = std::make_unique<EventSources>(*w->hub, *w->stores, w->agent_client);
    w->metrics = std::make_unique<ApiMetrics>(*w->db, *w->hub);
    w->authenticator = std::make_unique<Authenticator>(*w->users, *w->sessions, *w->tokens);
    w->routes = BuildRoutes({.db = *w->db,
                             .stores = *w->stores,
                             .users = *w->users,
                             .sessions = *w->sessions,
                             .tokens = *w->tokens,
                             .login_limiter = *w->limiter,
                             .agents = w->agents,
                             .events = *w->events,
                             .metrics = *w->metrics,
                             .authenticator = *w->authenticator},
                            {});
    w->admin = *w->users->Create("admin", "a long admin password", Role::kAdmin);
    w->alice = *w->users->Create("alice", "alice's long password", Role::kOperator);
    const Actor alice = Actor::Operator(w->alice.id);
    agent::v1::SyncOverlayRequest source;
    source.mutable_inline_files()->add_files()->set_path("left4dead2/cfg/a.cfg");
    Overlay overlay = *w->stores->overlays.Create(alice, "maps", false, source);
    BlueprintInput input{.name = "versus", .overlays = {{.overlay_id = overlay.id}}};
    input.settings.set_game_mode("versus");
    Blueprint blueprint = *w->stores->blueprints.Create(alice, input);
    QueuedServerJob server =
        *CreateServer(*w->stores, alice, "s1", blueprint.id, DesiredState::kStopped);
    auto host = w->stores->hosts.Create({.name = "h1", .address = "127.0.0.1:1"}, absl::Hours(1));
    std::string secret;
    ApiToken token = *w->tokens->Create(alice, "ci", {"write"}, &secret);
    // A player on s1, so that the player routes have history to read.
    agent::v1::ListPlayerEventsResponse joined;
    joined.set_epoch(1);
    agent::v1::PlayerEvent* event = joined.add_events();
    event->set_seq(1);
    event->set_kind(agent::v1::PlayerEvent::KIND_JOINED);
    event->mutable_player()->set_name("Ellis");
    event->mutable_player()->set_steam_id64(76561197960287930u);
    (void)w->stores->players.Record(server.server.id, {}, joined);
    w->ids = {overlay.id,
              "76561197960287930",
              blueprint.id,
              server.server.id,
              server.job_id,
              host->first.id,
              token.id,
              w->alice.id,
              "",
              "x",
              "../../etc"};
    return w;
  }();
  return *world;
}

}  // namespace
}  // namespace l4d2::controller

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace l4d2::controller;
  if (size < 3) return 0;
  World& world = TheWorld();
  const Route& route = world.routes[data[0] % world.routes.size()];
  ApiRequest request;
  request.method = route.method;
  request.path = route.path;
  request.client_address = "192.0.2.1";
  const User& user = data[1] % 2 ? world.admin : world.alice;
  request.user = user;
  request.actor = user.role == Role::kAdmin ? Actor::Admin(user.id) : Actor::Operator(user.id);
  request.credential = CredentialKind::kToken;
  // Every parameter of the route's path ({id}, {steam_id}, ...) gets the chosen value.
  for (absl::string_view segment : absl::StrSplit(route.path, '/')) {
    if (absl::ConsumePrefix(&segment, "{") && absl::ConsumeSuffix(&segment, "}")) {
      request.params[std::string(segment)] = world.ids[data[2] % world.ids.size()];
    }
  }
  const std::string rest(reinterpret_cast<const char*>(data) + 3, size - 3);
  const size_t newline = rest.find('\n');
  const std::string query = rest.substr(0, newline);
  request.body = newline == std::string::npos ? "" : rest.substr(newline + 1);
  for (absl::string_view pair : absl::StrSplit(query, '&', absl::SkipEmpty())) {
    const size_t equals = pair.find('=');
    request.query[std::string(pair.substr(0, equals))] =
        equals == absl::string_view::npos ? "" : std::string(pair.substr(equals + 1));
  }
  request.last_event_id = request.Query("last_event_id");
  absl::Status status = absl::OkStatus();
  if (route.stream) {
    status = route.stream(request).status();
  } else {
    absl::StatusOr<ApiResponse> response = route.handler(request);
    status = response.status();
    if (response.ok() && response->status >= 500) {
      std::cerr << route.method << " " << route.path << ": answered " << response->status << "\n";
      std::abort();
    }
  }
  // A server error for bad input is a bug: it should have been a clear client error. Agents
  // are unreachable here, so UNAVAILABLE and DEADLINE_EXCEEDED from them are expected.
  const int http = HttpStatusFor(status.code());
  if (http == 500 || http == 501) {
    std::cerr << route.method << " " << route.path << ": " << status << "\n";
    std::abort();
  }
  return 0;
}
