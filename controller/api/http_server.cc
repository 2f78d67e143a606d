#include "controller/api/http_server.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <set>

#include "absl/algorithm/container.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/clock.h"
#include "common/file_util.h"
#include "common/logging.h"
#include "controller/api/errors.h"
#include "controller/api/guarded_handler.h"
#include "controller/api/headers.h"
#include "controller/api/openapi.h"
#include "controller/auth/device_cookies.h"
#include "pistache/cookie.h"
#include "pistache/http_headers.h"
#include "pistache/peer.h"

namespace l4d2::controller {
namespace {

using Pistache::Http::Code;

// A response header by name. Pistache 0.0.5 writes only typed headers (raw ones added to a
// response are silently dropped), and types only the headers it knows.
class NamedHeader final : public Pistache::Http::Header::Header {
 public:
  NamedHeader(std::string name, std::string value)
      : name_(std::move(name)), value_(std::move(value)) {}
  const char* name() const override { return name_.c_str(); }
  void write(std::ostream& stream) const override { stream << value_; }
#ifdef SAFE_HEADER_CAST
  uint64_t hash() const override { return 0; }
#endif

 private:
  const std::string name_;
  const std::string value_;
};

// A Set-Cookie value as the routes write it ("name=value; Path=/; HttpOnly; SameSite=Strict;
// Secure; Max-Age=N") as Pistache's cookie: its header collection keeps one header per name,
// and only its cookie jar writes several Set-Cookie lines.
Pistache::Http::Cookie ToCookie(const std::string& set_cookie) {
  std::vector<absl::string_view> parts = absl::StrSplit(set_cookie, "; ");
  const size_t equals = parts[0].find('=');
  Pistache::Http::Cookie cookie(std::string(parts[0].substr(0, equals)),
                                std::string(parts[0].substr(equals + 1)));
  for (size_t i = 1; i < parts.size(); ++i) {
    absl::string_view attribute = parts[i];
    int max_age = 0;
    if (absl::ConsumePrefix(&attribute, "Path=")) {
      cookie.path = std::string(attribute);
    } else if (absl::ConsumePrefix(&attribute, "Max-Age=") &&
               absl::SimpleAtoi(attribute, &max_age)) {
      cookie.maxAge = max_age;
    } else if (attribute == "HttpOnly") {
      cookie.httpOnly = true;
    } else if (attribute == "Secure") {
      cookie.secure = true;
    } else if (absl::ConsumePrefix(&attribute, "SameSite=")) {
      cookie.ext["SameSite"] = std::string(attribute);
    }
  }
  return cookie;
}

// "%XX" escapes as their bytes; a "%" not followed by two hex digits stays as it is.
std::string PercentDecoded(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size() && absl::ascii_isxdigit(text[i + 1]) &&
        absl::ascii_isxdigit(text[i + 2])) {
      const auto hex = [](char c) {
        return absl::ascii_isdigit(c) ? c - '0' : absl::ascii_tolower(c) - 'a' + 10;
      };
      out.push_back(static_cast<char>(hex(text[i + 1]) * 16 + hex(text[i + 2])));
      i += 2;
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

void Send(Pistache::Http::ResponseWriter& writer, const ApiResponse& response) {
  auto add = [&](const std::string& name, const std::string& value) {
    writer.headers().add(std::make_shared<NamedHeader>(name, value));
  };
  for (const auto& [name, value] : SecurityHeaders()) add(name, value);
  const bool cache_set = absl::c_any_of(
      response.headers, [](const auto& header) { return header.first == "Cache-Control"; });
  if (!cache_set) add("Cache-Control", "no-store");
  if (!response.content_type.empty()) add("Content-Type", response.content_type);
  for (const auto& [name, value] : response.headers) {
    if (name == "Set-Cookie") {
      writer.cookies().add(ToCookie(value));
    } else {
      add(name, value);
    }
  }
  writer.send(static_cast<Code>(response.status), response.body);
}

// Pistache 0.0.5's Endpoint takes a backlog option and never passes it to its listener, which
// listens with 128. Listening again on the same socket sets the backlog (Linux); the socket is
// found by its port among this process's descriptors.
void RaiseListenBacklog(int port, int backlog) {
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd", error)) {
    int fd = -1;
    if (!absl::SimpleAtoi(entry.path().filename().string(), &fd)) continue;
    int listening = 0;
    socklen_t length = sizeof(listening);
    if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &length) != 0 || !listening) {
      continue;
    }
    sockaddr_storage address{};
    socklen_t address_length = sizeof(address);
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&address), &address_length) != 0) continue;
    int bound = -1;
    if (address.ss_family == AF_INET) {
      bound = ntohs(reinterpret_cast<sockaddr_in*>(&address)->sin_port);
    } else if (address.ss_family == AF_INET6) {
      bound = ntohs(reinterpret_cast<sockaddr_in6*>(&address)->sin6_port);
    }
    if (bound == port) listen(fd, backlog);
  }
}

// "/servers/{id}" -> "/servers/:id", Pistache's form of a path with parameters.
std::string RouterPattern(const std::string& path) {
  std::vector<std::string> segments = absl::StrSplit(path, '/');
  for (std::string& segment : segments) {
    if (segment.size() > 2 && segment.front() == '{' && segment.back() == '}') {
      segment = ":" + segment.substr(1, segment.size() - 2);
    }
  }
  return absl::StrJoin(segments, "/");
}

Pistache::Http::Method MethodOf(const std::string& name) {
  if (name == "POST") return Pistache::Http::Method::Post;
  if (name == "PUT") return Pistache::Http::Method::Put;
  if (name == "PATCH") return Pistache::Http::Method::Patch;
  if (name == "DELETE") return Pistache::Http::Method::Delete;
  return Pistache::Http::Method::Get;
}

constexpr Pistache::Http::Method kEveryMethod[] = {
    Pistache::Http::Method::Options, Pistache::Http::Method::Get,
    Pistache::Http::Method::Post,    Pistache::Http::Method::Head,
    Pistache::Http::Method::Put,     Pistache::Http::Method::Patch,
    Pistache::Http::Method::Delete,  Pistache::Http::Method::Trace,
    Pistache::Http::Method::Connect};

}  // namespace

// A request taken off the reactor: everything the worker needs, copied.
struct HttpServer::Pending {
  const Route* route = nullptr;
  ApiRequest request;
  Credentials credentials;
  std::string content_type;
  int stream_fd = -1;  // a duplicate of the connection, for event streams
  absl::Time received;
  std::unique_ptr<Pistache::Http::ResponseWriter> writer;

  ~Pending() {
    if (stream_fd >= 0) close(stream_fd);
  }
};

HttpServer::HttpServer(const HttpServerOptions& options, std::vector<Route> routes,
                       Authenticator& authenticator, SseHub& hub, ApiMetrics& metrics)
    : options_(options),
      routes_(std::move(routes)),
      authenticator_(authenticator),
      hub_(hub),
      metrics_(metrics),
      workers_(options.workers, options.max_backlog),
      addresses_(std::make_shared<AddressLimiter>(Clock::Real(), options.addresses)) {}

HttpServer::~HttpServer() { Shutdown(); }

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Start(const HttpServerOptions& options,
                                                              std::vector<Route> routes,
                                                              Authenticator& authenticator,
                                                              SseHub& hub, ApiMetrics& metrics) {
  // The document describes its own route too.
  auto document = std::make_shared<std::string>();
  routes.push_back({.method = "GET",
                    .path = "/api/v1/openapi.json",
                    .access = Access::kPublic,
                    .summary = "This API's OpenAPI 3 description",
                    .handler = [document](const ApiRequest&) -> absl::StatusOr<ApiResponse> {
                      return ApiResponse{.body = *document};
                    }});
  *document = OpenApiDocument(routes, options.version);
  std::unique_ptr<HttpServer> server(
      new HttpServer(options, std::move(routes), authenticator, hub, metrics));
  // Each path's methods; every other method of a known path gets a JSON 405 (Pistache's own
  // answer is plain text).
  std::map<std::string, std::set<Pistache::Http::Method>> methods_of;
  for (const Route& route : server->routes_) {
    const std::string pattern = RouterPattern(route.path);
    HttpServer* self = server.get();
    auto handler = [self, &route](const Pistache::Rest::Request& request,
                                  Pistache::Http::ResponseWriter response) {
      self->Accept(route, request, std::move(response));
      return Pistache::Rest::Route::Result::Ok;
    };
    const Pistache::Http::Method method = MethodOf(route.method);
    methods_of[pattern].insert(method);
    server->router_.addRoute(method, pattern, handler);
  }
  for (const auto& [pattern, allowed] : methods_of) {
    std::vector<std::string> names;
    for (Pistache::Http::Method method : allowed) {
      names.push_back(Pistache::Http::methodString(method));
    }
    const std::string allow = absl::StrJoin(names, ", ");
    for (Pistache::Http::Method method : kEveryMethod) {
      if (allowed.count(method)) continue;
      server->router_.addRoute(
          method, pattern,
          [allow](const Pistache::Rest::Request&, Pistache::Http::ResponseWriter response) {
            ApiResponse refused = ErrorResponse(
                absl::InvalidArgumentError(absl::StrCat("method not allowed; allowed: ", allow)));
            refused.status = 405;
            refused.headers.emplace_back("Allow", allow);
            Send(response, refused);
            return Pistache::Rest::Route::Result::Ok;
          });
    }
  }
  HttpServer* self = server.get();
  server->router_.addNotFoundHandler(
      [self](const Pistache::Rest::Request& request, Pistache::Http::ResponseWriter response) {
        if (self->options_.web_root.empty() || request.method() != Pistache::Http::Method::Get ||
            absl::StartsWith(request.resource(), "/api/")) {
          Send(response, ErrorResponse(absl::NotFoundError("no such route")));
          return Pistache::Rest::Route::Result::Ok;
        }
        // Files are read off the reactor, like every handler's work.
        auto writer = std::make_shared<Pistache::Http::ResponseWriter>(std::move(response));
        const std::string resource = request.resource();
        if (!self->workers_.Submit(
                [self, writer, resource] { Send(*writer, self->StaticFile(resource)); })) {
          Send(*writer, ErrorResponse(absl::UnavailableError("the controller is busy")));
        }
        return Pistache::Rest::Route::Result::Ok;
      });
  try {
    server->endpoint_ =
        std::make_unique<Pistache::Http::Endpoint>(Pistache::Address(options.address));
    // Pistache's own limit is above the guard's: the guard refuses first, in JSON.
    server->endpoint_->init(
        Pistache::Http::Endpoint::options()
            .threads(options.threads)
            .flags(Pistache::Tcp::Options::ReuseAddr)
            .backlog(options.backlog)
            .maxRequestSize(options.max_request_bytes + options.max_head_bytes + 4096));
    server->endpoint_->setHandler(
        std::make_shared<GuardedHandler>(server->router_,
                                         RequestLimits{.max_body_bytes = options.max_request_bytes,
                                                       .max_head_bytes = options.max_head_bytes,
                                                       .max_url_bytes = options.max_url_bytes},
                                         server->addresses_));
    server->endpoint_->serveThreaded();
    RaiseListenBacklog(server->port(), options.backlog);
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
  workers_.Stop();
}

// On a reactor thread: copy the request out and queue it.
void HttpServer::Accept(const Route& route, const Pistache::Rest::Request& request,
                        Pistache::Http::ResponseWriter response) {
  auto pending = std::make_shared<Pending>();
  pending->route = &route;
  pending->received = Clock::Real().Now();
  ApiRequest& api = pending->request;
  api.method = route.method;
  api.path = request.resource();
  // Pistache 0.0.5 leaves the query's escapes as they came ("%3A"): decoded here; "+" stays a
  // plus (RFC 3986, not a form).
  for (auto it = request.query().parameters_begin(); it != request.query().parameters_end(); ++it) {
    api.query[PercentDecoded(it->first)] = PercentDecoded(it->second);
  }
  for (absl::string_view segment : absl::StrSplit(route.path, '/')) {
    if (segment.size() > 2 && segment.front() == '{' && segment.back() == '}') {
      const std::string name(segment.substr(1, segment.size() - 2));
      api.params[name] = request.param(":" + name).as<std::string>();
    }
  }
  api.body = request.body();
  api.client_address = request.address().host();
  const auto& headers = request.headers();
  if (auto authorization = headers.tryGet<Pistache::Http::Header::Authorization>()) {
    pending->credentials.authorization = authorization->value();
  }
  if (request.cookies().has(kSessionCookie)) {
    pending->credentials.session_cookie = request.cookies().get(kSessionCookie).value;
  }
  if (request.cookies().has(DeviceCookies::kName)) {
    api.device_cookie = request.cookies().get(DeviceCookies::kName).value;
  }
  if (auto csrf = headers.tryGetRaw(kCsrfHeader)) pending->credentials.csrf_token = csrf->value();
  if (auto last = headers.tryGetRaw("Last-Event-ID")) {
    api.last_event_id = last->value();
  } else if (route.stream) {
    // A new EventSource cannot send the header; a client reopening a stream names its last
    // event in the query instead (the header wins when both are there).
    api.last_event_id = api.Query("last_event_id");
  }
  if (auto type = headers.tryGet<Pistache::Http::Header::ContentType>()) {
    pending->content_type = type->mime().toString();
  }
  if (route.stream) {
    // Taken now, on the reactor that owns the connection; the hub writes to it from here on.
    if (std::shared_ptr<Pistache::Tcp::Peer> peer = response.peer()) {
      pending->stream_fd = dup(peer->fd());
    }
  }
  pending->writer = std::make_unique<Pistache::Http::ResponseWriter>(std::move(response));
  if (!workers_.Submit([this, pending] { Serve(*pending); })) {
    Send(*pending->writer, ErrorResponse(absl::UnavailableError("the controller is busy")));
  }
}

ApiResponse HttpServer::StaticFile(const std::string& resource) {
  const absl::Status missing = absl::NotFoundError("no such route");
  // The UI's pages are addresses of its own router (/servers/s1/console): a path whose last
  // part names no file is the UI's index, so a reload or a shared link opens that page. Built
  // files live below /assets/: a missing one is a 404, never the index.
  const absl::string_view last = absl::string_view(resource).substr(resource.rfind('/') + 1);
  const bool page =
      last.find('.') == absl::string_view::npos && !absl::StartsWith(resource, "/assets/");
  std::string path = page ? "index.html" : resource.substr(1);
  // One conservative alphabet: no "..", no hidden files, no escapes, no odd characters.
  bool ok = !path.empty() && path.size() < 256;
  for (absl::string_view part : absl::StrSplit(path, '/')) {
    ok = ok && !part.empty() && part.front() != '.';
    for (char c : part) ok = ok && (absl::ascii_isalnum(c) || c == '-' || c == '_' || c == '.');
  }
  if (!ok) return ErrorResponse(missing);
  // Resolved by the kernel below the root, no symbolic link followed on the way.
  absl::StatusOr<std::string> body =
      ReadFileBeneath(options_.web_root, path, 16 << 20, Symlinks::kRefuse);
  if (!body.ok()) return ErrorResponse(missing);
  static const auto* types = new std::vector<std::pair<std::string, std::string>>{
      {".html", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".ico", "image/x-icon"},
      {".json", "application/json"},
      {".woff2", "font/woff2"},
      {".txt", "text/plain; charset=utf-8"}};
  std::string type = "application/octet-stream";
  for (const auto& [extension, mime] : *types) {
    if (absl::EndsWith(path, extension)) type = mime;
  }
  ApiResponse file{.body = *std::move(body), .content_type = type};
  // Vite names every built asset by its content's hash: it never changes under its name.
  if (absl::StartsWith(path, "assets/")) {
    file.headers.emplace_back("Cache-Control", "public, max-age=31536000, immutable");
  }
  return file;
}

// On a worker: authorize, run, answer.
void HttpServer::Serve(Pending& pending) {
  const Route& route = *pending.route;
  ApiResponse response;
  try {
    absl::Status status = absl::OkStatus();
    if (!pending.request.body.empty() &&
        !absl::StartsWith(absl::AsciiStrToLower(pending.content_type), "application/json")) {
      response =
          ErrorResponse(absl::InvalidArgumentError("body: Content-Type must be application/json"));
      response.status = 415;
    } else if (status = authenticator_.Authorize(route, pending.credentials, pending.request);
               !status.ok()) {
      response = ErrorResponse(status);
    } else if (route.stream) {
      const std::string user = pending.request.user ? pending.request.user->id : "";
      status = pending.stream_fd < 0 ? absl::UnavailableError("the client went away")
                                     : hub_.Reserve(user);
      if (status.ok()) {
        absl::StatusOr<StreamRequest> stream = route.stream(pending.request);
        if (stream.ok()) {
          hub_.Attach(pending.stream_fd, *std::move(stream),
                      {.user_id = user,
                       .admin = pending.request.actor.admin,
                       .credential = pending.request.credential_key});
          pending.stream_fd = -1;
          metrics_.Observe(route.method, route.path, 200, Clock::Real().Now() - pending.received);
          return;
        }
        hub_.Unreserve(user);
        status = stream.status();
      }
      response = ErrorResponse(status);
    } else {
      absl::StatusOr<ApiResponse> answer = route.handler(pending.request);
      response = answer.ok() ? *std::move(answer) : ErrorResponse(answer.status());
    }
  } catch (const std::exception& e) {
    L4D2_LOG(ERROR) << route.method << " " << route.path << ": exception: " << e.what();
    response = ErrorResponse(absl::InternalError(e.what()));
  }
  // Counted before it is sent: a client that has the answer finds it in /metrics.
  metrics_.Observe(route.method, route.path, response.status,
                   Clock::Real().Now() - pending.received);
  Send(*pending.writer, response);
}

}  // namespace l4d2::controller
