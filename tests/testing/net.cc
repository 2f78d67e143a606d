#include "tests/testing/net.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"

namespace l4d2::testing {
namespace {

bool Bindable(int type, int port) {
  int fd = ::socket(AF_INET, type | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0;
  ::close(fd);
  return ok;
}

// Whether this process could reserve `port` among the test processes of this machine: a lock
// on a file named after it, held until the process exits (ctest runs each test in a process of
// its own, so parallel tests never hand out the same port, whatever their start offsets).
bool Reserve(int port) {
  static const std::string dir = [] {
    const std::string path = "/tmp/l4d2-test-ports";
    ::mkdir(path.c_str(), 01777);
    return path;
  }();
  const int fd =
      ::open((dir + "/" + std::to_string(port)).c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0666);
  if (fd < 0) return true;  // Nowhere to coordinate: fall back to the bind checks alone.
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd);
    return false;
  }
  return true;  // The descriptor stays open: the lock lasts as long as the process.
}

// Ports are drawn from a range of their own, below the kernel's ephemeral range
// (ip_local_port_range): a port handed to a game server must not be taken meanwhile by any
// process's outgoing connection or unbound UDP socket.
constexpr int kFirstPort = 10000;
int LastPort() {
  static const int last = [] {
    int first_ephemeral = 32768;
    std::ifstream range("/proc/sys/net/ipv4/ip_local_port_range");
    range >> first_ephemeral;
    return std::max(first_ephemeral - 1, 12000);
  }();
  return last;
}
// The next port this process tries; processes start at different places to rarely meet.
int& NextPort() {
  static int next = kFirstPort + static_cast<int>(::getpid() % ((LastPort() - kFirstPort) / 8)) * 4;
  return next;
}

}  // namespace

int FreeGamePort() {
  // Each candidate is checked for both protocols, then reserved among test processes.
  for (int tries = 0; tries < 2000; ++tries) {
    int& next = NextPort();
    const int port = next;
    next = next >= LastPort() - 16 ? kFirstPort : next + 1;
    if (Bindable(SOCK_DGRAM, port) && Bindable(SOCK_STREAM, port) && Reserve(port)) return port;
  }
  std::abort();
}

int FreeGamePortRange(int count) {
  for (int tries = 0; tries < 2000; ++tries) {
    const int first = FreeGamePort();
    bool all = true;
    for (int port = first + 1; all && port < first + count; ++port) {
      all = Bindable(SOCK_DGRAM, port) && Bindable(SOCK_STREAM, port) && Reserve(port);
    }
    if (all) {
      NextPort() = first + count;  // Not handed out again.
      return first;
    }
  }
  std::abort();
}

absl::StatusOr<HttpResponse> HttpRequest(int port, const std::string& method,
                                         const std::string& path, const std::string& body) {
  return HttpRequest(port, method, path, {}, body);
}

namespace {

absl::StatusOr<int> Connect(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    ::close(fd);
    return absl::UnavailableError(absl::StrCat("connect to port ", port, " failed"));
  }
  return fd;
}

}  // namespace

std::string HeaderValue(const HttpResponse& response, const std::string& name) {
  for (absl::string_view line : absl::StrSplit(response.headers, "\r\n")) {
    const size_t colon = line.find(':');
    if (colon == absl::string_view::npos) continue;
    if (absl::EqualsIgnoreCase(line.substr(0, colon), name)) {
      return std::string(absl::StripAsciiWhitespace(line.substr(colon + 1)));
    }
  }
  return "";
}

std::string SetCookieOf(const HttpResponse& response, const std::string& name) {
  for (absl::string_view line : absl::StrSplit(response.headers, "\r\n")) {
    const size_t colon = line.find(':');
    if (colon == absl::string_view::npos) continue;
    if (!absl::EqualsIgnoreCase(line.substr(0, colon), "Set-Cookie")) continue;
    absl::string_view value = absl::StripAsciiWhitespace(line.substr(colon + 1));
    if (absl::StartsWith(value, name + "=")) return std::string(value);
  }
  return "";
}

absl::StatusOr<std::unique_ptr<HttpStream>> HttpStream::Open(
    int port, const std::string& path, const std::vector<std::string>& headers) {
  absl::StatusOr<int> fd = Connect(port);
  if (!fd.ok()) return fd.status();
  std::string request = absl::StrCat("GET ", path, " HTTP/1.1\r\nHost: 127.0.0.1:", port,
                                     "\r\nAccept: text/event-stream\r\n");
  for (const std::string& header : headers) absl::StrAppend(&request, header, "\r\n");
  request += "\r\n";
  ::send(*fd, request.data(), request.size(), MSG_NOSIGNAL);
  return std::unique_ptr<HttpStream>(new HttpStream(*fd));
}

HttpStream::~HttpStream() { ::close(fd_); }

bool HttpStream::ReadSome(absl::Duration timeout) {
  if (closed_) return false;
  pollfd ready{.fd = fd_, .events = POLLIN};
  if (::poll(&ready, 1, static_cast<int>(absl::ToInt64Milliseconds(timeout))) <= 0) return true;
  char buffer[65536];
  ssize_t n = ::recv(fd_, buffer, sizeof(buffer), 0);
  if (n <= 0) {
    closed_ = true;
    return false;
  }
  received_.append(buffer, static_cast<size_t>(n));
  return true;
}

bool HttpStream::WaitFor(const std::string& text, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  // Each read is searched from where the last search could not have found a match, so that
  // waiting on a stream of megabytes stays linear in what arrives.
  size_t from = 0;
  auto found = [&] {
    if (received_.find(text, from) != std::string::npos) return true;
    from = received_.size() < text.size() ? 0 : received_.size() - text.size() + 1;
    return false;
  };
  while (!found()) {
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) return false;
    if (!ReadSome(std::min(left, absl::Milliseconds(100)))) return found();
  }
  return true;
}

bool HttpStream::WaitForClose(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!closed_ && absl::Now() < deadline) ReadSome(absl::Milliseconds(100));
  return closed_;
}

absl::StatusOr<HttpResponse> HttpRequest(int port, const std::string& method,
                                         const std::string& path,
                                         const std::vector<std::string>& headers,
                                         const std::string& body) {
  absl::StatusOr<int> connected = Connect(port);
  if (!connected.ok()) return connected.status();
  const int fd = *connected;
  timeval timeout{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  std::string request =
      absl::StrCat(method, " ", path, " HTTP/1.1\r\nHost: 127.0.0.1:", port,
                   "\r\nConnection: close\r\nContent-Length: ", body.size(), "\r\n");
  for (const std::string& header : headers) absl::StrAppend(&request, header, "\r\n");
  absl::StrAppend(&request, "\r\n", body);
  ::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
  // Read until the body announced by Content-Length is complete: Pistache 0.0.5 keeps the
  // connection open despite "Connection: close".
  std::string raw;
  char buffer[8192];
  size_t header_end = std::string::npos;
  size_t wanted = std::string::npos;
  while (wanted == std::string::npos || raw.size() < wanted) {
    ssize_t n = ::recv(fd, buffer, sizeof(buffer), 0);
    if (n <= 0) break;
    raw.append(buffer, static_cast<size_t>(n));
    if (header_end == std::string::npos) {
      header_end = raw.find("\r\n\r\n");
      if (header_end != std::string::npos) {
        std::string lower = raw.substr(0, header_end);
        for (char& c : lower) c = static_cast<char>(tolower(c));
        size_t at = lower.find("content-length:");
        size_t length = 0;
        if (at != std::string::npos &&
            absl::SimpleAtoi(
                absl::StripAsciiWhitespace(lower.substr(at + 15, lower.find("\r\n", at) - at - 15)),
                &length)) {
          wanted = header_end + 4 + length;
        }
      }
    }
  }
  ::close(fd);
  if (raw.size() < 12 || header_end == std::string::npos) {
    return absl::InternalError(absl::StrCat("malformed HTTP response: '", raw, "'"));
  }
  HttpResponse response;
  if (!absl::SimpleAtoi(raw.substr(9, 3), &response.status)) {
    return absl::InternalError("malformed HTTP status line");
  }
  response.headers = raw.substr(0, header_end);
  response.body = raw.substr(header_end + 4);
  return response;
}

absl::StatusOr<std::unique_ptr<RawConnection>> RawConnection::Open(int port) {
  absl::StatusOr<int> fd = Connect(port);
  if (!fd.ok()) return fd.status();
  return std::unique_ptr<RawConnection>(new RawConnection(*fd));
}

RawConnection::~RawConnection() { ::close(fd_); }

bool RawConnection::Send(absl::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t sent = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (sent <= 0) return false;
    bytes.remove_prefix(static_cast<size_t>(sent));
  }
  return true;
}

std::string RawConnection::ReadToClose(absl::Duration timeout, bool* closed) {
  std::string received;
  *closed = false;
  const absl::Time deadline = absl::Now() + timeout;
  while (!*closed) {
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) break;
    pollfd ready{.fd = fd_, .events = POLLIN, .revents = 0};
    if (::poll(&ready, 1, static_cast<int>(absl::ToInt64Milliseconds(left)) + 1) <= 0) continue;
    char buffer[16384];
    const ssize_t n = ::recv(fd_, buffer, sizeof(buffer), 0);
    if (n <= 0) {
      *closed = true;
    } else {
      received.append(buffer, static_cast<size_t>(n));
    }
  }
  return received;
}

}  // namespace l4d2::testing
