#pragma once

// Loopback networking for tests.

#include <string>

#include "absl/status/statusor.h"

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

}  // namespace l4d2::testing
