#pragma once

// The routes of /api/v1 and the controller's plain endpoints (docs/api.md): sessions, users,
// API tokens, hosts, overlays, blueprints, servers with their actions, console and logs,
// bulk actions, jobs, the audit log, metric series, and the event streams. Each handler
// checks its input, calls the stores and the jobs layer with the caller as actor (another
// user's object is NOT_FOUND, as the stores answer), audits state changes, and maps results
// to the messages of l4d2/controller/v1/api.proto. Handlers block (SQL, agents): the server
// runs them on its own workers, never on Pistache's reactor.

#include <functional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "controller/api/rest_support.h"
#include "controller/api/route.h"
#include "controller/auth/device_cookies.h"
#include "controller/auth/login_limiter.h"
#include "controller/fleet/enrollment.h"
#include "controller/jobs/agent_connector.h"
#include "controller/store/api_tokens.h"
#include "controller/store/fleet_stores.h"
#include "controller/store/sessions.h"
#include "controller/store/users.h"

namespace l4d2::controller {

class EventSources;
class ApiMetrics;
class Authenticator;

struct RestApiOptions {
  // The URL agents and browsers reach the controller at, for the enrollment command; with
  // https:// session cookies are marked Secure.
  std::string public_url = "http://127.0.0.1:8080";
  absl::Duration enrollment_token_ttl = absl::Hours(24);
  absl::Duration agent_timeout = absl::Seconds(10);
  // Webhooks may name loopback and link-local addresses (alerts.allow_private_targets).
  bool allow_private_webhook_targets = false;
};

struct RestApiDeps {
  Database& db;
  FleetStores& stores;
  UserStore& users;
  SessionStore& sessions;
  ApiTokenStore& tokens;
  LoginLimiter& login_limiter;
  AgentConnector& agents;
  EventSources& events;
  ApiMetrics& metrics;
  // Told when a user's credentials end (logout, password, disabled, revoked token).
  Authenticator& authenticator;
  Enrollment* enrollment = nullptr;  // null: no enrollment route
  // Sign-in's device cookies (null: none; every client is limited as one without).
  const DeviceCookies* device_cookies = nullptr;
  // Told when a host's certificate changed (revoked, enrolled again), after the agent
  // connector forgot the host (may be empty).
  std::function<void(const std::string& host_id)> certificate_changed;
};

// Every route, in documentation order. The dependencies must outlive the routes. Each
// resource's routes and handlers are in their own file (resource_routes.h).
std::vector<Route> BuildRoutes(const RestApiDeps& deps, const RestApiOptions& options);

}  // namespace l4d2::controller
