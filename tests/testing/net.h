#pragma once

// Loopback networking for tests.

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace l4d2::testing {

// A port free for both UDP and TCP on 127.0.0.1 right now (the game uses one number for both).
int FreeGamePort();
// The first of `count` consecutive such ports (a host's port range).
int FreeGamePortRange(int count);

struct HttpResponse {
  int status = 0;
  std::string headers;
  std::string body;
};

// One HTTP/1.1 request on a fresh connection to 127.0.0.1:port ("Connection: close").
absl::StatusOr<HttpResponse> HttpRequest(int port, const std::string& method,
                                         const std::string& path, const std::string& body = "");
// The same with extra request headers ("Name: value" each).
absl::StatusOr<HttpResponse> HttpRequest(int port, const std::string& method,
                                         const std::string& path,
                                         const std::vector<std::string>& headers,
                                         const std::string& body);

// A header's value in a response's headers ("" when absent; names compare case-insensitively).
std::string HeaderValue(const HttpResponse& response, const std::string& name);
// The Set-Cookie header that sets cookie `name` ("" when none does).
std::string SetCookieOf(const HttpResponse& response, const std::string& name);

// A connection that stays open, for event streams: sends one request, then reads as it comes.
class HttpStream {
 public:
  // UNAVAILABLE when nothing listens.
  static absl::StatusOr<std::unique_ptr<HttpStream>> Open(int port, const std::string& path,
                                                          const std::vector<std::string>& headers);
  ~HttpStream();
  // Reads until `text` has arrived (true) or `timeout` passed or the peer closed (false).
  bool WaitFor(const std::string& text, absl::Duration timeout = absl::Seconds(10));
  // Whether the peer closed the connection within `timeout`.
  bool WaitForClose(absl::Duration timeout = absl::Seconds(10));
  const std::string& received() const { return received_; }

 private:
  explicit HttpStream(int fd) : fd_(fd) {}
  // One read of up to `timeout`; false on close or error.
  bool ReadSome(absl::Duration timeout);
  int fd_;
  bool closed_ = false;
  std::string received_;
};

// A bare TCP connection to 127.0.0.1:port, for what HTTP clients do not send: oversized heads,
// endless bodies, many connections at once.
class RawConnection {
 public:
  // UNAVAILABLE when nothing listens.
  static absl::StatusOr<std::unique_ptr<RawConnection>> Open(int port);
  ~RawConnection();
  // Sends all of `bytes`; false once the peer closed or reset the connection.
  bool Send(absl::string_view bytes);
  // Reads until the peer closes the connection or `timeout` passed: what arrived, and whether
  // the connection was closed (an orderly close or a reset).
  std::string ReadToClose(absl::Duration timeout, bool* closed);
  int fd() const { return fd_; }

 private:
  explicit RawConnection(int fd) : fd_(fd) {}
  int fd_;
};

}  // namespace l4d2::testing
