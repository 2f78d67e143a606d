#pragma once

#include "common/http/http_fetcher.h"

namespace l4d2 {

// HttpFetcher, HttpReader and HttpPoster with libcurl (one easy handle per call), as left4me-fetch
// and the controller run it. Thread-safe once curl_global_init ran, which the constructor does.
class CurlHttpFetcher final : public HttpFetcher, public HttpReader, public HttpPoster {
 public:
  CurlHttpFetcher();
  absl::StatusOr<uint64_t> Fetch(const std::string& url, const std::string& path,
                                 uint64_t max_bytes, absl::Duration timeout) override;
  absl::StatusOr<std::string> PostForm(const std::string& url, const std::string& form,
                                       uint64_t max_bytes, absl::Duration timeout) override;
  absl::StatusOr<std::string> PostJson(const std::string& url, const std::string& json,
                                       uint64_t max_bytes, absl::Duration timeout) override;
  absl::StatusOr<std::string> Get(const std::string& url, uint64_t max_bytes,
                                  absl::Duration timeout) override;
  absl::StatusOr<HttpAnswer> Post(const HttpPost& post) override;

 private:
  // A POST when `body` is set, else a GET.
  absl::StatusOr<std::string> Request(const std::string& url, const std::string* body,
                                      const char* content_type, uint64_t max_bytes,
                                      absl::Duration timeout);
};

}  // namespace l4d2
