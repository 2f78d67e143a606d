#include "controller/api/controller_api.h"

namespace l4d2::controller {

ControllerApi::ControllerApi(Database& db, FleetStores& stores, AgentConnector& agents,
                             Clock& clock, const ControllerApiOptions& options)
    : users_(db, clock, options.password_cost),
      sessions_(db, clock, options.sessions),
      tokens_(db, clock),
      limiter_(clock, options.logins),
      device_cookies_(options.device_cookie_secret),
      hub_(options.streams),
      stream_agents_(agents, options.rest.agent_timeout),
      events_(hub_, stores, stream_agents_, options.sources),
      metrics_(db, hub_, options.more_metrics),
      authenticator_(users_, sessions_, tokens_, clock, options.credential_cache),
      warden_(hub_, authenticator_, options.stream_recheck) {
  authenticator_.set_forget_listener(
      [this](const std::string& user_id) { warden_.Recheck(user_id); });
}

absl::StatusOr<std::unique_ptr<ControllerApi>> ControllerApi::Start(
    Database& db, FleetStores& stores, AgentConnector& agents, Clock& clock,
    const ControllerApiOptions& options, Enrollment* enrollment) {
  std::unique_ptr<ControllerApi> api(new ControllerApi(db, stores, agents, clock, options));
  std::vector<Route> routes = BuildRoutes({.db = db,
                                           .stores = stores,
                                           .users = api->users_,
                                           .sessions = api->sessions_,
                                           .tokens = api->tokens_,
                                           .login_limiter = api->limiter_,
                                           .agents = agents,
                                           .events = api->events_,
                                           .metrics = api->metrics_,
                                           .authenticator = api->authenticator_,
                                           .enrollment = enrollment,
                                           .device_cookies = &api->device_cookies_,
                                           .certificate_changed = options.certificate_changed},
                                          options.rest);
  api->events_.Start();
  api->warden_.Start();
  absl::StatusOr<std::unique_ptr<HttpServer>> server = HttpServer::Start(
      options.http, std::move(routes), api->authenticator_, api->hub_, api->metrics_);
  if (!server.ok()) {
    api->warden_.Stop();
    api->events_.Stop();
    api->stopped_ = true;
    return server.status();
  }
  api->server_ = *std::move(server);
  return api;
}

ControllerApi::~ControllerApi() { Stop(); }

void ControllerApi::Stop() {
  if (stopped_) return;
  stopped_ = true;
  server_->Shutdown();
  warden_.Stop();
  events_.Stop();
  hub_.Shutdown();
}

}  // namespace l4d2::controller
