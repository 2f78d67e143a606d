#pragma once

// The controller's HTTP server (Pistache 0.0.5). This layer owns the endpoint, the router and
// the conventions every route shares: JSON bodies, error bodies {code, message}, no exception
// text ever reaching a client. Routes so far: GET /healthz (process alive), GET /readyz
// (the database answers) and POST /api/v1/enroll (an agent's enrollment, fleet/enrollment.h;
// JSON of l4d2.controller.v1.EnrollRequest and EnrollResponse).
//
// Handlers run on Pistache's reactor threads and must return quickly.
// Start() serves on background threads; Shutdown() stops them. Not copyable.

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "controller/fleet/enrollment.h"
#include "controller/store/database.h"
#include "pistache/endpoint.h"
#include "pistache/router.h"

namespace l4d2::controller {

struct HttpServerOptions {
  // "host:port"; port 0 picks a free port.
  std::string address = "127.0.0.1:8080";
  int threads = 2;
  // Requests above this size are refused (Pistache's default is 4096 bytes).
  size_t max_request_bytes = 1 << 20;
};

class HttpServer {
 public:
  // `db` and `enrollment` (null: no enrollment route) must outlive the server. UNAVAILABLE when
  // the address cannot be bound.
  static absl::StatusOr<std::unique_ptr<HttpServer>> Start(const HttpServerOptions& options,
                                                           Database& db,
                                                           Enrollment* enrollment = nullptr);
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;
  ~HttpServer();

  int port() const;
  void Shutdown();

 private:
  HttpServer(Database& db, Enrollment* enrollment);
  void Healthz(const Pistache::Rest::Request& request, Pistache::Http::ResponseWriter response);
  void Readyz(const Pistache::Rest::Request& request, Pistache::Http::ResponseWriter response);
  void Enroll(const Pistache::Rest::Request& request, Pistache::Http::ResponseWriter response);

  Database& db_;
  Enrollment* enrollment_;
  std::unique_ptr<Pistache::Http::Endpoint> endpoint_;
  Pistache::Rest::Router router_;
  bool shut_down_ = false;
};

}  // namespace l4d2::controller
