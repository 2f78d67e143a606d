#include "ctl/controller_client.h"

#include <curl/curl.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "rpc/proto_json.h"

namespace l4d2::ctl {
namespace {

struct CurlGlobal {
  CurlGlobal() { curl_global_init(CURL_GLOBAL_DEFAULT); }
};

// The API's error body as a status (its code name and message).
absl::Status ErrorStatus(long http, const std::string& body) {
  std::string code, message;
  if (absl::StatusOr<google::protobuf::Struct> error = FromJson<google::protobuf::Struct>(body);
      error.ok()) {
    if (error->fields().count("code")) code = error->fields().at("code").string_value();
    if (error->fields().count("message")) message = error->fields().at("message").string_value();
  }
  if (message.empty()) message = absl::StrCat("the controller answered HTTP ", http);
  absl::StatusCode status_code = absl::StatusCode::kUnknown;
  for (int c = 0; c <= 16; ++c) {
    if (absl::StatusCodeToString(static_cast<absl::StatusCode>(c)) == code) {
      status_code = static_cast<absl::StatusCode>(c);
    }
  }
  if (status_code == absl::StatusCode::kUnknown && http == 503) {
    status_code = absl::StatusCode::kUnavailable;
  }
  return absl::Status(status_code, message);
}

size_t Append(char* data, size_t size, size_t count, void* out) {
  static_cast<std::string*>(out)->append(data, size * count);
  return size * count;
}

// The API's session cookie (controller/api/authenticator.h).
constexpr absl::string_view kSessionCookie = "l4d2_session";

// A curl handle with the credentials and the common options set: the session's cookie and
// CSRF token when signed in, else the endpoint's API token.
struct Easy {
  Easy(const ControllerEndpoint& endpoint, const std::string& path,
       const std::string& session_cookie = "", const std::string& csrf_token = "") {
    static CurlGlobal global;
    handle = curl_easy_init();
    const std::string url = absl::StrCat(absl::StripSuffix(endpoint.url, "/"), path);
    curl_easy_setopt(handle, CURLOPT_URL, url.c_str());
    curl_easy_setopt(handle, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(handle, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
    curl_easy_setopt(handle, CURLOPT_PROTOCOLS_STR, "http,https");
    headers = curl_slist_append(headers, "Accept: application/json");
    // Pistache 0.0.5 closes HTTP/1.1 connections that do not ask to be kept.
    headers = curl_slist_append(headers, "Connection: keep-alive");
    if (!session_cookie.empty()) {
      headers = curl_slist_append(headers, absl::StrCat("Cookie: ", session_cookie).c_str());
      headers = curl_slist_append(headers, absl::StrCat("X-CSRF-Token: ", csrf_token).c_str());
    } else if (!endpoint.token.empty()) {
      headers = curl_slist_append(headers,
                                  absl::StrCat("Authorization: Bearer ", endpoint.token).c_str());
    }
  }
  ~Easy() {
    curl_slist_free_all(headers);
    curl_easy_cleanup(handle);
  }
  CURL* handle = nullptr;
  curl_slist* headers = nullptr;
};

absl::Status TransportError(CURLcode code, const std::string& url) {
  const std::string what = absl::StrCat("controller '", url, "': ", curl_easy_strerror(code));
  return code == CURLE_OPERATION_TIMEDOUT ? absl::DeadlineExceededError(what)
                                          : absl::UnavailableError(what);
}

}  // namespace

ControllerClient::ControllerClient(ControllerEndpoint endpoint) : endpoint_(std::move(endpoint)) {}

absl::StatusOr<std::string> ControllerClient::Call(const std::string& method,
                                                   const std::string& path,
                                                   const std::string& body) {
  absl::StatusOr<Answer> answer = Perform(method, path, body);
  if (!answer.ok()) return answer.status();
  if (answer->http < 200 || answer->http >= 300) return ErrorStatus(answer->http, answer->body);
  return std::move(answer->body);
}

absl::StatusOr<ControllerClient::Answer> ControllerClient::Perform(const std::string& method,
                                                                   const std::string& path,
                                                                   const std::string& body) {
  Easy easy(endpoint_, path, session_cookie_, csrf_token_);
  Answer answer;
  curl_easy_setopt(easy.handle, CURLOPT_CUSTOMREQUEST, method.c_str());
  if (!body.empty() || method != "GET") {
    easy.headers = curl_slist_append(easy.headers, "Content-Type: application/json");
    curl_easy_setopt(easy.handle, CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(easy.handle, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  }
  curl_easy_setopt(easy.handle, CURLOPT_HTTPHEADER, easy.headers);
  curl_easy_setopt(easy.handle, CURLOPT_WRITEFUNCTION, Append);
  curl_easy_setopt(easy.handle, CURLOPT_WRITEDATA, &answer.body);
  curl_easy_setopt(
      easy.handle, CURLOPT_HEADERFUNCTION, +[](char* data, size_t size, size_t count, void* out) {
        absl::string_view line(data, size * count);
        constexpr absl::string_view kSetCookie = "set-cookie:";
        if (absl::StartsWithIgnoreCase(line, kSetCookie)) {
          line = absl::StripLeadingAsciiWhitespace(line.substr(kSetCookie.size()));
          line = line.substr(0, line.find(';'));
          if (absl::StartsWith(line, absl::StrCat(kSessionCookie, "="))) {
            static_cast<Answer*>(out)->session_cookie = std::string(line);
          }
        }
        return size * count;
      });
  curl_easy_setopt(easy.handle, CURLOPT_HEADERDATA, &answer);
  curl_easy_setopt(easy.handle, CURLOPT_TIMEOUT_MS,
                   static_cast<long>(absl::ToInt64Milliseconds(endpoint_.timeout)));
  const CURLcode code = curl_easy_perform(easy.handle);
  if (code != CURLE_OK) return TransportError(code, endpoint_.url);
  curl_easy_getinfo(easy.handle, CURLINFO_RESPONSE_CODE, &answer.http);
  return answer;
}

absl::Status ControllerClient::SignIn(const std::string& username, const std::string& password) {
  google::protobuf::Struct login;
  (*login.mutable_fields())["username"].set_string_value(username);
  (*login.mutable_fields())["password"].set_string_value(password);
  std::string body;
  if (!google::protobuf::util::MessageToJsonString(login, &body).ok()) {
    return absl::InvalidArgumentError("username and password must be UTF-8");
  }
  absl::StatusOr<Answer> answer = Perform("POST", "/api/v1/session", body);
  if (!answer.ok()) return answer.status();
  if (answer->http < 200 || answer->http >= 300) return ErrorStatus(answer->http, answer->body);
  absl::StatusOr<google::protobuf::Struct> session =
      FromJson<google::protobuf::Struct>(answer->body);
  if (!session.ok() || !session->fields().contains("csrfToken") || answer->session_cookie.empty()) {
    return absl::UnknownError("the controller's sign-in answer has no session");
  }
  session_cookie_ = std::move(answer->session_cookie);
  csrf_token_ = session->fields().at("csrfToken").string_value();
  return absl::OkStatus();
}

absl::Status ControllerClient::SignOut() {
  if (session_cookie_.empty()) return absl::OkStatus();
  absl::Status ended = Call("DELETE", "/api/v1/session").status();
  session_cookie_.clear();
  csrf_token_.clear();
  return ended;
}

bool ParseSseEvents(std::string& buffer, const std::function<bool(const SseFrame&)>& on_event) {
  for (;;) {
    const size_t end = buffer.find("\n\n");
    if (end == std::string::npos) return true;
    const std::string block = buffer.substr(0, end);
    buffer.erase(0, end + 2);
    SseFrame frame{.type = "message"};
    bool any = false;
    for (absl::string_view line : absl::StrSplit(block, '\n')) {
      line = absl::StripSuffix(line, "\r");
      if (line.empty() || line.front() == ':') continue;  // comments: heartbeats
      const size_t colon = line.find(':');
      absl::string_view field = line.substr(0, colon);
      absl::string_view value = colon == absl::string_view::npos ? "" : line.substr(colon + 1);
      absl::ConsumePrefix(&value, " ");
      if (field == "id") frame.id = std::string(value);
      if (field == "event") frame.type = std::string(value);
      if (field == "data") {
        if (any) frame.data += "\n";
        frame.data += std::string(value);
        any = true;
      }
    }
    if (any && !on_event(frame)) return false;
  }
}

absl::Status ControllerClient::Stream(const std::string& path,
                                      const std::function<bool(const SseFrame&)>& on_event,
                                      int reconnects) {
  std::string last_id;
  for (int attempt = 0;; ++attempt) {
    struct State {
      std::string buffer;
      std::string headers_seen;
      std::string* last_id;
      const std::function<bool(const SseFrame&)>* on_event;
      bool stopped = false;
      bool in_body = false;
      std::string error_body;
      long http = 0;
      CURL* handle = nullptr;
    } state{.last_id = &last_id, .on_event = &on_event};
    Easy easy(endpoint_, path, session_cookie_, csrf_token_);
    easy.headers = curl_slist_append(easy.headers, "Accept: text/event-stream");
    if (!last_id.empty()) {
      easy.headers = curl_slist_append(easy.headers, ("Last-Event-ID: " + last_id).c_str());
    }
    state.handle = easy.handle;
    curl_easy_setopt(easy.handle, CURLOPT_HTTPHEADER, easy.headers);
    curl_easy_setopt(
        easy.handle, CURLOPT_WRITEFUNCTION, +[](char* data, size_t size, size_t count, void* out) {
          State& s = *static_cast<State*>(out);
          if (s.http == 0) curl_easy_getinfo(s.handle, CURLINFO_RESPONSE_CODE, &s.http);
          if (s.http != 200) {
            s.error_body.append(data, size * count);
            return size * count;
          }
          s.buffer.append(data, size * count);
          const bool go_on = ParseSseEvents(s.buffer, [&](const SseFrame& frame) {
            if (!frame.id.empty()) *s.last_id = frame.id;
            return (*s.on_event)(frame);
          });
          if (!go_on) {
            s.stopped = true;
            return size_t{0};  // ends the transfer
          }
          return size * count;
        });
    curl_easy_setopt(easy.handle, CURLOPT_WRITEDATA, &state);
    // No overall timeout: the stream lasts; a silent connection (no heartbeat for a minute) is
    // dropped and resumed.
    curl_easy_setopt(easy.handle, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(easy.handle, CURLOPT_LOW_SPEED_TIME, 60L);
    const CURLcode code = curl_easy_perform(easy.handle);
    if (state.stopped) return absl::OkStatus();
    long http = 0;
    curl_easy_getinfo(easy.handle, CURLINFO_RESPONSE_CODE, &http);
    if (http != 0 && http != 200) return ErrorStatus(http, state.error_body);
    if (attempt >= reconnects) {
      return code == CURLE_OK ? absl::UnavailableError("the event stream ended")
                              : TransportError(code, endpoint_.url);
    }
    absl::SleepFor(absl::Seconds(1));
  }
}

}  // namespace l4d2::ctl
