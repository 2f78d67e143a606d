#pragma once

// Keep-alive HTTP load for the benchmarks (tests/bench/): one connection sending the same
// request until a deadline, timing each answer. Shared by P6 and S2.

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace l4d2::bench {

struct Result {
  int64_t requests = 0;
  int64_t failures = 0;
  std::vector<double> latencies_ms;
};

// One keep-alive connection sending `request` until `deadline`.
inline Result Hammer(int port, const std::string& request, absl::Time deadline) {
  Result result;
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    close(fd);
    result.failures = 1;
    return result;
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  std::string buffer;
  char chunk[65536];
  while (absl::Now() < deadline) {
    const absl::Time start = absl::Now();
    if (send(fd, request.data(), request.size(), MSG_NOSIGNAL) !=
        static_cast<ssize_t>(request.size())) {
      ++result.failures;
      break;
    }
    // Read one response: headers, then Content-Length bytes.
    size_t header_end = std::string::npos, wanted = 0;
    bool ok = false;
    for (;;) {
      if (header_end == std::string::npos) {
        header_end = buffer.find("\r\n\r\n");
        if (header_end != std::string::npos) {
          const size_t at = buffer.find("Content-Length: ");
          size_t length = 0;
          if (at != std::string::npos && at < header_end) {
            (void)absl::SimpleAtoi(buffer.substr(at + 16, buffer.find("\r\n", at) - at - 16),
                                   &length);
          }
          wanted = header_end + 4 + length;
        }
      }
      if (header_end != std::string::npos && buffer.size() >= wanted) {
        ok = buffer.compare(0, 12, "HTTP/1.1 200") == 0;
        buffer.erase(0, wanted);
        break;
      }
      ssize_t n = recv(fd, chunk, sizeof(chunk), 0);
      if (n <= 0) break;
      buffer.append(chunk, static_cast<size_t>(n));
    }
    if (!ok) {
      ++result.failures;
      break;
    }
    ++result.requests;
    result.latencies_ms.push_back(absl::ToDoubleMilliseconds(absl::Now() - start));
  }
  close(fd);
  return result;
}

// The requests to run (ONLY: a comma-separated list of names; empty: all).
// The p-th quantile (0 to 1) of sorted latencies; 0 without any.
inline double Percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0.0;
  return sorted[std::min(sorted.size() - 1, static_cast<size_t>(p * sorted.size()))];
}

// One GET route on one keep-alive connection for `duration` with a bearer token (after 200 ms
// of warming): its latency percentiles.
struct RouteTiming {
  double p50 = 0, p99 = 0;
  int64_t requests = 0, failures = 0;
};
inline RouteTiming TimeRoute(int port, const std::string& path, const std::string& token,
                             absl::Duration duration) {
  const std::string request = absl::StrCat("GET ", path,
                                           " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: "
                                           "keep-alive\r\nAuthorization: Bearer ",
                                           token, "\r\n\r\n");
  Hammer(port, request, absl::Now() + absl::Milliseconds(200));
  Result result = Hammer(port, request, absl::Now() + duration);
  std::sort(result.latencies_ms.begin(), result.latencies_ms.end());
  return {.p50 = Percentile(result.latencies_ms, 0.5),
          .p99 = Percentile(result.latencies_ms, 0.99),
          .requests = result.requests,
          .failures = result.failures};
}

}  // namespace l4d2::bench
