#include "common/http/curl_http_fetcher.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
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

bool IsRefusedWebhookAddress(const std::string& address) {
  in_addr v4;
  if (::inet_pton(AF_INET, address.c_str(), &v4) == 1) {
    const uint32_t ip = ntohl(v4.s_addr);
    return (ip >> 24) == 127 ||                  // loopback
           (ip >> 16) == ((169u << 8) | 254) ||  // link-local, cloud metadata
           ip == 0 ||                            // unspecified
           (ip >> 28) == 0xe;                    // multicast
  }
  in6_addr v6;
  if (::inet_pton(AF_INET6, address.c_str(), &v6) == 1) {
    if (IN6_IS_ADDR_V4MAPPED(&v6)) {
      char mapped[INET_ADDRSTRLEN];
      ::inet_ntop(AF_INET, &v6.s6_addr[12], mapped, sizeof(mapped));
      return IsRefusedWebhookAddress(mapped);
    }
    return IN6_IS_ADDR_LOOPBACK(&v6) || IN6_IS_ADDR_LINKLOCAL(&v6) ||
           IN6_IS_ADDR_UNSPECIFIED(&v6) || IN6_IS_ADDR_MULTICAST(&v6);
  }
  return false;
}

namespace {

struct SocketCheck {
  bool allow_private = false;
  bool refused = false;
};

// CURLOPT_OPENSOCKETFUNCTION: every address curl is about to connect to, after resolution.
curl_socket_t OpenCheckedSocket(void* user, curlsocktype purpose, curl_sockaddr* address) {
  auto* check = static_cast<SocketCheck*>(user);
  char text[INET6_ADDRSTRLEN] = {};
  if (address->family == AF_INET) {
    ::inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(&address->addr)->sin_addr, text,
                sizeof(text));
  } else if (address->family == AF_INET6) {
    ::inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6*>(&address->addr)->sin6_addr, text,
                sizeof(text));
  } else {
    check->refused = true;
    return CURL_SOCKET_BAD;
  }
  if (!check->allow_private && IsRefusedWebhookAddress(text)) {
    check->refused = true;
    return CURL_SOCKET_BAD;
  }
  return ::socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
}

}  // namespace

absl::StatusOr<HttpAnswer> CurlHttpFetcher::Post(const HttpPost& post) {
  if (!absl::StartsWith(post.url, "https://") && !absl::StartsWith(post.url, "http://")) {
    return absl::InvalidArgumentError("only http:// and https:// URLs are posted to");
  }
  HttpAnswer answer;
  SocketCheck check{.allow_private = post.allow_private};
  CURL* curl = curl_easy_init();
  curl_slist* headers = nullptr;
  for (const std::string& header : post.headers)
    headers = curl_slist_append(headers, header.c_str());
  BodySink sink = [&](const char* data, size_t size) {
    constexpr size_t kKept = 4096;
    if (answer.body.size() < kKept)
      answer.body.append(data, std::min(size, kKept - answer.body.size()));
    return true;
  };
  curl_easy_setopt(curl, CURLOPT_URL, post.url.c_str());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, post.body.c_str());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(post.body.size()));
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &Deliver);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &sink);
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_OPENSOCKETFUNCTION, &OpenCheckedSocket);
  curl_easy_setopt(curl, CURLOPT_OPENSOCKETDATA, &check);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS,
                   static_cast<long>(absl::ToInt64Milliseconds(post.timeout)));
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_USERAGENT, "left4me-webhooks");
  char error_text[CURL_ERROR_SIZE] = {};
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error_text);
  const CURLcode code = curl_easy_perform(curl);
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_cleanup(curl);
  curl_slist_free_all(headers);
  if (check.refused) {
    return absl::PermissionDeniedError(
        "the address is loopback, link-local or unspecified: refused "
        "(alerts.allow_private_targets)");
  }
  if (code != CURLE_OK) {
    return absl::UnavailableError(
        absl::StrCat("no answer: ", error_text[0] != '\0' ? error_text : curl_easy_strerror(code)));
  }
  answer.status = static_cast<int>(status);
  return answer;
}

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
