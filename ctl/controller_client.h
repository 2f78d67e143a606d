#pragma once

// l4d2ctl's HTTP client for the controller's API (docs/api.md), with libcurl: JSON calls
// authenticated by an API token (sent as a bearer token, never on a command line), and
// Server-Sent Event streams that resume with Last-Event-ID after a dropped connection.

#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace l4d2::ctl {

struct ControllerEndpoint {
  std::string url;    // e.g. "https://ctl.example:8080", no trailing slash needed
  std::string token;  // an API token's secret
  absl::Duration timeout = absl::Seconds(30);
};

struct SseFrame {
  std::string id;
  std::string type;  // "message" when the stream did not name one
  std::string data;
};

class ControllerClient {
 public:
  explicit ControllerClient(ControllerEndpoint endpoint);

  // The response's JSON body on a 2xx answer. Otherwise the API's error as a status of its
  // code and message; UNAVAILABLE when the controller cannot be reached, DEADLINE_EXCEEDED
  // when it does not answer in time.
  absl::StatusOr<std::string> Call(const std::string& method, const std::string& path,
                                   const std::string& body = "");

  // Follows the event stream at `path`, calling `on_event` for each event until it returns
  // false (OK) or the stream cannot be resumed (the error). A dropped connection is resumed
  // after the last event seen, `reconnects` times at most.
  absl::Status Stream(const std::string& path, const std::function<bool(const SseFrame&)>& on_event,
                      int reconnects = 5);

  // Signs in with a username and password, as the web UI does: later calls carry the
  // session's cookie and CSRF token instead of the endpoint's token. UNAUTHENTICATED on a
  // wrong password, RESOURCE_EXHAUSTED when the controller limits sign-ins.
  absl::Status SignIn(const std::string& username, const std::string& password);
  // Ends the session SignIn began (nothing to do without one).
  absl::Status SignOut();

 private:
  // The answer to one call: its HTTP status, body, and the session cookie it set, if any.
  struct Answer {
    long http = 0;
    std::string body;
    std::string session_cookie;
  };
  absl::StatusOr<Answer> Perform(const std::string& method, const std::string& path,
                                 const std::string& body);

  ControllerEndpoint endpoint_;
  std::string session_cookie_;  // "name=value", set by SignIn
  std::string csrf_token_;
};

// Splits Server-Sent Events out of `buffer` (what arrived so far), leaving an incomplete event
// in it; calls `on_event` for each until it returns false (then returns false).
bool ParseSseEvents(std::string& buffer, const std::function<bool(const SseFrame&)>& on_event);

}  // namespace l4d2::ctl
