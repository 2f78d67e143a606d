#pragma once

// Capabilities: downloading a file over HTTP(S), for overlay archives (HttpFetcher), and
// reading a small reply to a GET, for the controller's Steam Web API calls (HttpReader). Bounded
// in size and time; redirects followed at most 5 times, to http and https only. Errors never
// carry the URL (a query string may hold an API key).
//
// Errors: INVALID_ARGUMENT for a URL that is not http(s), RESOURCE_EXHAUSTED above max_bytes,
// UNAVAILABLE for network errors, timeouts and HTTP statuses >= 400 (with the status).

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace l4d2 {

class HttpFetcher {
 public:
  virtual ~HttpFetcher() = default;
  // Writes the body to `path` (created with mode 0600); returns its size.
  virtual absl::StatusOr<uint64_t> Fetch(const std::string& url, const std::string& path,
                                         uint64_t max_bytes, absl::Duration timeout) = 0;
  // POSTs an application/x-www-form-urlencoded body; returns the response body.
  virtual absl::StatusOr<std::string> PostForm(const std::string& url, const std::string& form,
                                               uint64_t max_bytes, absl::Duration timeout) = 0;
  // POSTs an application/json body; returns the response body. An HTTP 401 is
  // UNAUTHENTICATED, 400 INVALID_ARGUMENT.
  virtual absl::StatusOr<std::string> PostJson(const std::string& url, const std::string& json,
                                               uint64_t max_bytes, absl::Duration timeout) = 0;
};

class HttpReader {
 public:
  virtual ~HttpReader() = default;
  // GETs `url`; returns the response body. An HTTP 401 or 403 is UNAUTHENTICATED, 400
  // INVALID_ARGUMENT.
  virtual absl::StatusOr<std::string> Get(const std::string& url, uint64_t max_bytes,
                                          absl::Duration timeout) = 0;
};

}  // namespace l4d2
