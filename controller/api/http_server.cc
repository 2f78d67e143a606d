#include "controller/api/http_server.h"

#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "pistache/http_headers.h"

namespace l4d2::controller {
namespace {

using Pistache::Http::Code;
using Pistache::Http::Mime::MediaType;

void SendJson(Pistache::Http::ResponseWriter& response, Code code, const std::string& body) {
  response.headers().add<Pistache::Http::Header::ContentType>(MediaType("application/json"));
  response.headers().add<Pistache::Http::Header::CacheControl>(
      Pistache::Http::CacheDirective(Pistache::Http::CacheDirective::NoStore));
  response.send(code, body);
}

}  // namespace

HttpServer::HttpServer(Database& db) : db_(db) {}

HttpServer::~HttpServer() { Shutdown(); }

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Start(const HttpServerOptions& options,
                                                              Database& db) {
  std::unique_ptr<HttpServer> server(new HttpServer(db));
  Pistache::Rest::Routes::Get(server->router_, "/healthz",
                              Pistache::Rest::Routes::bind(&HttpServer::Healthz, server.get()));
  Pistache::Rest::Routes::Get(server->router_, "/readyz",
                              Pistache::Rest::Routes::bind(&HttpServer::Readyz, server.get()));
  try {
    server->endpoint_ =
        std::make_unique<Pistache::Http::Endpoint>(Pistache::Address(options.address));
    server->endpoint_->init(Pistache::Http::Endpoint::options()
                                .threads(options.threads)
                                .flags(Pistache::Tcp::Options::ReuseAddr)
                                .maxRequestSize(options.max_request_bytes));
    server->endpoint_->setHandler(server->router_.handler());
    server->endpoint_->serveThreaded();
  } catch (const std::exception& e) {
    server->endpoint_.reset();
    return absl::UnavailableError(
        absl::StrCat("failed to serve HTTP on '", options.address, "': ", e.what()));
  }
  return server;
}

int HttpServer::port() const {
  return endpoint_ ? static_cast<int>(static_cast<uint16_t>(endpoint_->getPort())) : 0;
}

void HttpServer::Shutdown() {
  if (shut_down_ || !endpoint_) return;
  shut_down_ = true;
  endpoint_->shutdown();
}

void HttpServer::Healthz(const Pistache::Rest::Request&, Pistache::Http::ResponseWriter response) {
  SendJson(response, Code::Ok, R"({"status":"ok"})");
}

void HttpServer::Readyz(const Pistache::Rest::Request&, Pistache::Http::ResponseWriter response) {
  absl::Status db = db_.Ping();
  if (db.ok()) {
    SendJson(response, Code::Ok, R"({"status":"ready"})");
    return;
  }
  // The database error stays in the log: it may name hosts or users.
  L4D2_LOG(WARNING) << "readyz: " << db.message();
  SendJson(response, Code::Service_Unavailable,
           R"({"code":"UNAVAILABLE","message":"database unavailable"})");
}

}  // namespace l4d2::controller
