#pragma once

// The controller's HTTP server (Pistache 0.0.5) for the route table (route.h, rest_api.h).
//
// Threads: Pistache's reactor threads only parse requests and hand them over; every handler
// runs on this server's own workers (handlers block on SQL and on agents), which answer with
// ResponseWriter::send (Pistache's thread-safe path: it queues the bytes to the reactor). When
// the workers' backlog is full a request is refused at once with 503. Event-stream routes
// are handed to the SSE hub (sse_hub.h), which owns their sockets from then on.
//
// Every answer carries the security headers (headers.h) and "Cache-Control: no-store"; errors
// are {code, message, details} (errors.h); a body must be JSON (415 otherwise). Every byte is
// scanned before Pistache parses it (guarded_handler.h): requests over the size limits, and
// addresses over theirs, are refused at once with a JSON error and the connection closed. An
// exception in a handler is logged and answered with a bare 500. Start() serves; Shutdown()
// stops. Not copyable.

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/work_queue.h"
#include "controller/api/api_metrics.h"
#include "controller/api/authenticator.h"
#include "controller/api/request_guard.h"
#include "controller/api/route.h"
#include "controller/api/sse_hub.h"
#include "pistache/endpoint.h"
#include "pistache/router.h"

namespace l4d2::controller {

struct HttpServerOptions {
  // "host:port"; port 0 picks a free port.
  std::string address = "127.0.0.1:8080";
  int threads = 2;  // Pistache reactors
  int workers = 8;  // handler threads
  // Connections waiting to be accepted (Pistache's default is 128: a burst of reconnecting
  // browsers overflows it and waits out TCP's SYN retries, seconds each).
  int backlog = 4096;
  // Requests waiting for a worker before new ones are refused with 503. Large: a controller
  // restart brings every browser's event streams back at once, and EventSource does not retry
  // a 503.
  size_t max_backlog = 65536;
  // A request body above this size, a head (request line and headers) above max_head_bytes
  // or a target above max_url_bytes is refused with 413, 431 or 414 as soon as its head (or
  // its chunked body) shows it, and its connection closed (request_guard.h).
  size_t max_request_bytes = 1 << 20;
  size_t max_head_bytes = 64 << 10;
  size_t max_url_bytes = 8 << 10;
  std::string version = "dev";
  // The web UI's files (web/ as installed), served for GET paths outside /api/ (the index for
  // "/"); "" serves none. Only regular files below it, no hidden names, no symbolic links.
  std::string web_root;
  // Per client address: connections open at once, and requests without credentials.
  AddressLimits addresses;
};

class HttpServer {
 public:
  // Serves `routes` and GET /api/v1/openapi.json. Everything must outlive the server.
  // UNAVAILABLE when the address cannot be bound.
  static absl::StatusOr<std::unique_ptr<HttpServer>> Start(const HttpServerOptions& options,
                                                           std::vector<Route> routes,
                                                           Authenticator& authenticator,
                                                           SseHub& hub, ApiMetrics& metrics);
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;
  ~HttpServer();

  int port() const;
  // The routes served, the OpenAPI document's own included.
  const std::vector<Route>& routes() const { return routes_; }
  void Shutdown();

 private:
  struct Pending;

  HttpServer(const HttpServerOptions& options, std::vector<Route> routes,
             Authenticator& authenticator, SseHub& hub, ApiMetrics& metrics);
  void Accept(const Route& route, const Pistache::Rest::Request& request,
              Pistache::Http::ResponseWriter response);
  void Serve(Pending& pending);
  // A file of the web UI, or NOT_FOUND.
  ApiResponse StaticFile(const std::string& resource);

  const HttpServerOptions options_;
  std::vector<Route> routes_;
  Authenticator& authenticator_;
  SseHub& hub_;
  ApiMetrics& metrics_;
  WorkQueue workers_;
  std::shared_ptr<AddressLimiter> addresses_;
  std::unique_ptr<Pistache::Http::Endpoint> endpoint_;
  Pistache::Rest::Router router_;
  bool shut_down_ = false;
};

}  // namespace l4d2::controller
