#pragma once

// The whole HTTP API of a controller, wired once: credentials (users, sessions, API tokens,
// sign-in limits), event streams (hub and sources), metrics, the route table and the server.
// main.cc, the benchmarks and the end-to-end tests build it the same way. Start() serves;
// Stop() (or the destructor) ends the server, then the streams.

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common/clock.h"
#include "controller/api/api_metrics.h"
#include "controller/api/authenticator.h"
#include "controller/api/event_sources.h"
#include "controller/api/http_server.h"
#include "controller/api/rest_api.h"
#include "controller/api/sse_hub.h"
#include "controller/api/stream_warden.h"
#include "controller/auth/login_limiter.h"
#include "controller/fleet/enrollment.h"
#include "controller/jobs/agent_client.h"
#include "controller/jobs/agent_connector.h"
#include "controller/store/fleet_stores.h"

namespace l4d2::controller {

struct ControllerApiOptions {
  HttpServerOptions http;
  RestApiOptions rest;
  SessionLimits sessions;
  SseLimits streams;
  EventSourceOptions sources;
  LoginLimits logins;
  PasswordCost password_cost = PasswordCost::Interactive();
  absl::Duration credential_cache = absl::Seconds(1);
  // How often every open event stream's credential is checked again (stream_warden.h).
  absl::Duration stream_recheck = absl::Milliseconds(500);
  // More /metrics series (ApiMetrics), e.g. the fleet's host reports.
  std::function<std::string()> more_metrics;
  // What else must forget a host whose certificate changed, revoked by an admin or enrolled
  // again (the host report book); the agent connector forgets it in any case.
  std::function<void(const std::string& host_id)> certificate_changed;
  // What sign-in's device cookies are signed with, derived (device_cookies.h); "" for a
  // random key of this process.
  std::string device_cookie_secret;
};

class ControllerApi {
 public:
  // Everything handed in must outlive the API. `enrollment` may be null (no enrollment route).
  // UNAVAILABLE when the address cannot be bound.
  static absl::StatusOr<std::unique_ptr<ControllerApi>> Start(Database& db, FleetStores& stores,
                                                              AgentConnector& agents, Clock& clock,
                                                              const ControllerApiOptions& options,
                                                              Enrollment* enrollment = nullptr);
  ControllerApi(const ControllerApi&) = delete;
  ControllerApi& operator=(const ControllerApi&) = delete;
  ~ControllerApi();

  void Stop();
  int port() const { return server_->port(); }
  HttpServer& server() { return *server_; }
  SseHub& hub() { return hub_; }
  UserStore& users() { return users_; }
  EventSources& events() { return events_; }

 private:
  ControllerApi(Database& db, FleetStores& stores, AgentConnector& agents, Clock& clock,
                const ControllerApiOptions& options);

  UserStore users_;
  SessionStore sessions_;
  ApiTokenStore tokens_;
  LoginLimiter limiter_;
  DeviceCookies device_cookies_;
  SseHub hub_;
  GrpcAgentClient stream_agents_;  // the event sources' console follows
  EventSources events_;
  ApiMetrics metrics_;
  Authenticator authenticator_;
  StreamWarden warden_;
  std::unique_ptr<HttpServer> server_;
  bool stopped_ = false;
};

}  // namespace l4d2::controller
