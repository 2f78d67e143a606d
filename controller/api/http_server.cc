#include "controller/api/http_server.h"

#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
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

// An error body; the status's own message only for the codes whose messages are written for
// clients.
void SendError(Pistache::Http::ResponseWriter& response, const absl::Status& status) {
  Code code = Code::Internal_Server_Error;
  std::string message = "internal error";
  if (absl::IsUnauthenticated(status)) {
    code = Code::Unauthorized;
    message = std::string(status.message());
  } else if (absl::IsInvalidArgument(status)) {
    code = Code::Bad_Request;
    message = std::string(status.message());
  } else {
    L4D2_LOG(ERROR) << "request failed: " << status;
  }
  google::protobuf::Struct body;
  (*body.mutable_fields())["code"].set_string_value(
      absl::StatusCodeToString(absl::IsUnauthenticated(status) || absl::IsInvalidArgument(status)
                                   ? status.code()
                                   : absl::StatusCode::kInternal));
  (*body.mutable_fields())["message"].set_string_value(message);
  std::string json;
  (void)google::protobuf::util::MessageToJsonString(body, &json);
  SendJson(response, code, json);
}

HttpServer::HttpServer(Database& db, Enrollment* enrollment) : db_(db), enrollment_(enrollment) {}

HttpServer::~HttpServer() { Shutdown(); }

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Start(const HttpServerOptions& options,
                                                              Database& db,
                                                              Enrollment* enrollment) {
  std::unique_ptr<HttpServer> server(new HttpServer(db, enrollment));
  if (enrollment != nullptr) {
    Pistache::Rest::Routes::Post(server->router_, "/api/v1/enroll",
                                 Pistache::Rest::Routes::bind(&HttpServer::Enroll, server.get()));
  }
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

void HttpServer::Enroll(const Pistache::Rest::Request& request,
                        Pistache::Http::ResponseWriter response) {
  v1::EnrollRequest enroll;
  if (!google::protobuf::util::JsonStringToMessage(request.body(), &enroll).ok()) {
    SendError(response, absl::InvalidArgumentError(
                            "body: expected JSON of l4d2.controller.v1.EnrollRequest"));
    return;
  }
  absl::StatusOr<v1::EnrollResponse> enrolled = enrollment_->Enroll(enroll);
  if (!enrolled.ok()) {
    SendError(response, enrolled.status());
    return;
  }
  std::string json;
  (void)google::protobuf::util::MessageToJsonString(*enrolled, &json);
  L4D2_LOG(INFO) << "host " << enrolled->host_id() << " enrolled";
  SendJson(response, Code::Ok, json);
}

}  // namespace l4d2::controller
