#include "agent/os/linux/curl_http_fetcher.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/file_util.h"

namespace l4d2::agent {
namespace {

struct Sink {
  int fd;
  uint64_t written = 0;
  uint64_t max_bytes;
  bool too_large = false;
  int error = 0;
};

size_t Write(char* data, size_t size, size_t count, void* user) {
  auto* sink = static_cast<Sink*>(user);
  const size_t bytes = size * count;
  if (sink->written + bytes > sink->max_bytes) {
    sink->too_large = true;
    return 0;  // Makes curl abort with CURLE_WRITE_ERROR.
  }
  size_t done = 0;
  while (done < bytes) {
    ssize_t n = ::write(sink->fd, data + done, bytes - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      sink->error = errno;
      return 0;
    }
    done += static_cast<size_t>(n);
  }
  sink->written += bytes;
  return bytes;
}

}  // namespace

CurlHttpFetcher::CurlHttpFetcher() { curl_global_init(CURL_GLOBAL_DEFAULT); }

absl::StatusOr<uint64_t> CurlHttpFetcher::Fetch(const std::string& url, const std::string& path,
                                                uint64_t max_bytes, absl::Duration timeout) {
  if (!absl::StartsWith(url, "https://") && !absl::StartsWith(url, "http://")) {
    return absl::InvalidArgumentError("archive url: only http:// and https:// are fetched");
  }
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return ErrnoError(errno, "create", path);
  Sink sink{.fd = fd, .max_bytes = max_bytes};
  CURL* curl = curl_easy_init();
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &Write);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &sink);
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(curl, CURLOPT_MAXREDIRS, 5L);
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(absl::ToInt64Milliseconds(timeout)));
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_USERAGENT, "left4me-agent");
  char error_text[CURL_ERROR_SIZE] = {};
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error_text);
  CURLcode code = curl_easy_perform(curl);
  long http_status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &http_status);
  curl_easy_cleanup(curl);
  ::close(fd);
  if (sink.too_large) {
    return absl::ResourceExhaustedError(absl::StrCat("archive larger than ", max_bytes, " bytes"));
  }
  if (sink.error != 0) return ErrnoError(sink.error, "write", path);
  if (code != CURLE_OK) {
    return absl::UnavailableError(
        absl::StrCat("fetching the archive failed: ",
                     error_text[0] != '\0' ? error_text : curl_easy_strerror(code)));
  }
  if (http_status >= 400) {
    return absl::UnavailableError(absl::StrCat("fetching the archive failed: HTTP ", http_status));
  }
  return sink.written;
}

absl::StatusOr<std::string> CurlHttpFetcher::PostForm(const std::string& url,
                                                      const std::string& form, uint64_t max_bytes,
                                                      absl::Duration timeout) {
  if (!absl::StartsWith(url, "https://") && !absl::StartsWith(url, "http://")) {
    return absl::InvalidArgumentError("only http:// and https:// are posted to");
  }
  struct Body {
    std::string data;
    uint64_t max_bytes;
    bool too_large = false;
  } body{.max_bytes = max_bytes};
  auto append = +[](char* data, size_t size, size_t count, void* user) -> size_t {
    auto* body = static_cast<Body*>(user);
    if (body->data.size() + size * count > body->max_bytes) {
      body->too_large = true;
      return 0;
    }
    body->data.append(data, size * count);
    return size * count;
  };
  CURL* curl = curl_easy_init();
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, form.c_str());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(form.size()));
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, append);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(absl::ToInt64Milliseconds(timeout)));
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_USERAGENT, "left4me-agent");
  char error_text[CURL_ERROR_SIZE] = {};
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error_text);
  CURLcode code = curl_easy_perform(curl);
  long http_status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &http_status);
  curl_easy_cleanup(curl);
  if (body.too_large) {
    return absl::ResourceExhaustedError(absl::StrCat("reply larger than ", max_bytes, " bytes"));
  }
  if (code != CURLE_OK) {
    return absl::UnavailableError(absl::StrCat(
        "request failed: ", error_text[0] != '\0' ? error_text : curl_easy_strerror(code)));
  }
  if (http_status >= 400) {
    return absl::UnavailableError(absl::StrCat("request failed: HTTP ", http_status));
  }
  return body.data;
}

}  // namespace l4d2::agent
