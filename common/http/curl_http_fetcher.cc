#include "common/http/curl_http_fetcher.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <functional>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/file_util.h"

namespace l4d2 {
namespace {

// Receives the body in pieces; returns false to abort the transfer.
using BodySink = std::function<bool(const char* data, size_t size)>;

size_t Deliver(char* data, size_t size, size_t count, void* user) {
  return (*static_cast<BodySink*>(user))(data, size * count) ? size * count : 0;
}

// One request: http/https only (redirects too, at most 5), bounded in time, the body handed to
// `sink`; a POST when `form` is set. UNAVAILABLE for network errors and HTTP statuses >= 400.
absl::Status Perform(const std::string& url, const std::string* form, absl::Duration timeout,
                     BodySink sink, const char* content_type = nullptr) {
  if (!absl::StartsWith(url, "https://") && !absl::StartsWith(url, "http://")) {
    return absl::InvalidArgumentError("only http:// and https:// URLs are fetched");
  }
  CURL* curl = curl_easy_init();
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_slist* headers = nullptr;
  if (form != nullptr) {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, form->c_str());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(form->size()));
    if (content_type != nullptr) {
      headers = curl_slist_append(headers, absl::StrCat("Content-Type: ", content_type).c_str());
      curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    }
  }
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &Deliver);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &sink);
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(curl, CURLOPT_MAXREDIRS, 5L);
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(absl::ToInt64Milliseconds(timeout)));
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_USERAGENT, "left4me");
  char error_text[CURL_ERROR_SIZE] = {};
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error_text);
  CURLcode code = curl_easy_perform(curl);
  long http_status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &http_status);
  curl_easy_cleanup(curl);
  curl_slist_free_all(headers);
  if (code != CURLE_OK) {
    return absl::UnavailableError(absl::StrCat(
        "request failed: ", error_text[0] != '\0' ? error_text : curl_easy_strerror(code)));
  }
  if (http_status == 401 || http_status == 403) {
    return absl::UnauthenticatedError(
        absl::StrCat("request refused: HTTP ", http_status, " (unauthenticated)"));
  }
  if (http_status == 400) return absl::InvalidArgumentError("request refused: HTTP 400");
  if (http_status >= 400) {
    return absl::UnavailableError(absl::StrCat("request failed: HTTP ", http_status));
  }
  return absl::OkStatus();
}

}  // namespace

CurlHttpFetcher::CurlHttpFetcher() { curl_global_init(CURL_GLOBAL_DEFAULT); }

absl::StatusOr<uint64_t> CurlHttpFetcher::Fetch(const std::string& url, const std::string& path,
                                                uint64_t max_bytes, absl::Duration timeout) {
  if (!absl::StartsWith(url, "https://") && !absl::StartsWith(url, "http://")) {
    return absl::InvalidArgumentError("only http:// and https:// URLs are fetched");
  }
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return ErrnoError(errno, "create", path);
  uint64_t written = 0;
  bool too_large = false;
  int write_error = 0;
  absl::Status status = Perform(url, nullptr, timeout, [&](const char* data, size_t size) {
    if (written + size > max_bytes) {
      too_large = true;
      return false;
    }
    for (size_t done = 0; done < size;) {
      ssize_t n = ::write(fd, data + done, size - done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        write_error = errno;
        return false;
      }
      done += static_cast<size_t>(n);
    }
    written += size;
    return true;
  });
  ::close(fd);
  if (too_large)
    return absl::ResourceExhaustedError(absl::StrCat("larger than ", max_bytes, " bytes"));
  if (write_error != 0) return ErrnoError(write_error, "write", path);
  if (!status.ok()) return status;
  return written;
}

absl::StatusOr<std::string> CurlHttpFetcher::PostForm(const std::string& url,
                                                      const std::string& form, uint64_t max_bytes,
                                                      absl::Duration timeout) {
  return Request(url, &form, nullptr, max_bytes, timeout);
}

absl::StatusOr<std::string> CurlHttpFetcher::PostJson(const std::string& url,
                                                      const std::string& json, uint64_t max_bytes,
                                                      absl::Duration timeout) {
  return Request(url, &json, "application/json", max_bytes, timeout);
}

absl::StatusOr<std::string> CurlHttpFetcher::Get(const std::string& url, uint64_t max_bytes,
                                                 absl::Duration timeout) {
  return Request(url, nullptr, nullptr, max_bytes, timeout);
}

absl::StatusOr<std::string> CurlHttpFetcher::Request(const std::string& url,
                                                     const std::string* form,
                                                     const char* content_type, uint64_t max_bytes,
                                                     absl::Duration timeout) {
  std::string body;
  bool too_large = false;
  absl::Status status = Perform(
      url, form, timeout,
      [&](const char* data, size_t size) {
        if (body.size() + size > max_bytes) {
          too_large = true;
          return false;
        }
        body.append(data, size);
        return true;
      },
      content_type);
  if (too_large)
    return absl::ResourceExhaustedError(absl::StrCat("reply larger than ", max_bytes, " bytes"));
  if (!status.ok()) return status;
  return body;
}

}  // namespace l4d2
