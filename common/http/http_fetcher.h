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
#include <vector>

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

// A POST to a URL a user gave (webhooks), whose answer the caller judges. The addresses it may
// connect to are checked when it connects, after name resolution, so a name that resolves to a
// refused address is refused too; redirects are not followed.
struct HttpPost {
  std::string url;
  std::string body;
  std::vector<std::string> headers;  // "Name: value"
  absl::Duration timeout = absl::Seconds(10);
  // Loopback, link-local (169.254.0.0/16, fe80::/10: cloud metadata) and unspecified addresses
  // are refused unless this is set (a receiver on the controller's own host, tests).
  bool allow_private = false;
};

struct HttpAnswer {
  int status = 0;
  std::string body;  // at most the first 4 KiB
};

class HttpPoster {
 public:
  virtual ~HttpPoster() = default;
  // The receiver's answer, whatever its status. UNAVAILABLE when no answer came (DNS, connect,
  // timeout); PERMISSION_DENIED for a refused address; INVALID_ARGUMENT for a URL that is not
  // http(s).
  virtual absl::StatusOr<HttpAnswer> Post(const HttpPost& post) = 0;
};

// Whether an address (IPv4 or IPv6, as text) is one a webhook may not reach by default:
// loopback, link-local, unspecified, multicast. False for text that is not an address.
bool IsRefusedWebhookAddress(const std::string& address);

}  // namespace l4d2
