#pragma once

// The HTTP API's route table: every route, with who may call it and the protobuf messages of
// its bodies, in one list (rest_api.h builds it). The server (http_server.h) registers the
// table with Pistache, the OpenAPI document (openapi.h) is generated from it, and the
// authorization and CSRF tests walk it, so the three cannot drift apart.

#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "controller/store/actor.h"
#include "controller/store/users.h"
#include "google/protobuf/descriptor.h"

namespace l4d2::controller {

// Who may call a route.
enum class Access {
  kPublic,  // anyone (health, login)
  kUser,    // a signed-in user or an API token: admins and operators
  kAdmin,   // admins only; operators get PERMISSION_DENIED
};

// How the caller proved who they are.
enum class CredentialKind { kNone, kSession, kToken };

// One request as a handler sees it, its caller already authenticated and authorized.
struct ApiRequest {
  std::string method;  // "GET", "POST", ...
  std::string path;
  absl::flat_hash_map<std::string, std::string> params;  // path parameters, by name
  absl::flat_hash_map<std::string, std::string> query;
  std::string body;
  std::string client_address;  // the peer's IP address
  std::string last_event_id;   // SSE resume point (Last-Event-ID), "" when none
  std::string device_cookie;   // sign-in's device cookie (l4d2_device), "" when none

  CredentialKind credential = CredentialKind::kNone;
  std::optional<User> user;    // set unless the route is public and nobody signed in
  Actor actor;                 // the user as the stores see them
  std::string session_secret;  // the session cookie's value, when signed in by cookie
  // The credential as the authenticator knows it (memory only, never logged): what an event
  // stream is opened with, so that ending the credential ends the stream.
  std::string credential_key;

  // A query parameter, or `fallback` when absent.
  std::string Query(const std::string& name, const std::string& fallback = "") const {
    auto it = query.find(name);
    return it == query.end() ? fallback : it->second;
  }
  const std::string& Param(const std::string& name) const { return params.at(name); }
};

struct ApiResponse {
  int status = 200;
  std::string body;  // JSON unless content_type says otherwise
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;  // e.g. Set-Cookie
};

// One Server-Sent Event of a topic. Ids increase within a topic (compared as strings), so a
// client resuming with Last-Event-ID gets exactly what came after.
struct SseEvent {
  std::string id;
  std::string type;  // the SSE "event:" field
  std::string data;  // JSON, one line
  // For topics whose events not every subscriber may see (the fleet's): seen by admins, by
  // `owner` and by the user `actor` names ("user:<id>"). Unfiltered topics ignore them.
  bool filtered = false;
  std::string owner;
  std::string actor;
  // A live notice (a server's new state): sent to the clients attached now, without an id,
  // never kept in the topic's history nor replayed; ids and resuming are the durable events'.
  bool ephemeral = false;
};

// What an event-stream route asks the server to open (sse_hub.h).
struct StreamRequest {
  std::string topic;  // "fleet", "job:<id>", "console:<server id>"
  // Events to send first, ids ascending (history the client missed).
  std::vector<SseEvent> replay;
  // Live events with ids up to this one are skipped (already replayed or seen).
  std::string after_id;
  // Start from the topic's newest event (nothing to resume): the topic's history is not sent.
  bool from_now = false;
};

using RouteHandler = std::function<absl::StatusOr<ApiResponse>(const ApiRequest&)>;
using StreamHandler = std::function<absl::StatusOr<StreamRequest>(const ApiRequest&)>;

struct Route {
  std::string method;  // GET, POST, PUT, PATCH, DELETE
  // OpenAPI form: "/api/v1/servers/{id}". Parameters are one path segment each.
  std::string path;
  Access access = Access::kUser;
  std::string summary;
  // The JSON body's message, or null for none.
  const google::protobuf::Descriptor* request = nullptr;
  // The success body's message, or null for none (204).
  const google::protobuf::Descriptor* response = nullptr;
  int success_status = 200;
  // Query parameters the route understands (documented; others are ignored).
  std::vector<std::string> query;
  // Exactly one of the two: a plain JSON route, or an event stream (GET only, answered with
  // text/event-stream).
  RouteHandler handler;
  StreamHandler stream;

  // Whether the route changes state: needs a CSRF token with a session, the "write" scope
  // with an API token.
  bool ChangesState() const { return method != "GET"; }
};

}  // namespace l4d2::controller
