// libFuzzer target: the HTTP request scanner (controller/api/request_guard.h), which reads
// every byte a client sends before anything else does. Besides crashes and sanitizer reports,
// it checks the scanner's promise that how the bytes are split does not change its verdict:
// the input's first byte picks a piece size, and the verdict in pieces must equal the verdict
// on the whole, with the same request heads seen.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "controller/api/request_guard.h"

namespace {

using l4d2::controller::Refusal;
using l4d2::controller::RequestHead;
using l4d2::controller::RequestLimits;
using l4d2::controller::RequestScanner;

struct Verdict {
  int http = 0;  // 0: no refusal
  std::vector<bool> heads;
};

Verdict Scan(const std::string& bytes, size_t piece) {
  RequestScanner scanner(
      RequestLimits{.max_body_bytes = 1000, .max_head_bytes = 2000, .max_url_bytes = 300});
  Verdict verdict;
  auto on_head = [&](const RequestHead& head) -> std::optional<Refusal> {
    verdict.heads.push_back(head.has_credentials);
    return std::nullopt;
  };
  for (size_t at = 0; at < bytes.size(); at += piece) {
    std::optional<Refusal> refused =
        scanner.Feed(absl::string_view(bytes).substr(at, piece), on_head);
    if (refused.has_value()) {
      verdict.http = refused->http;
      break;
    }
  }
  return verdict;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const size_t piece = 1 + data[0] % 16;
  const std::string bytes(reinterpret_cast<const char*>(data + 1), size - 1);
  const Verdict whole = Scan(bytes, bytes.size() + 1);
  const Verdict pieces = Scan(bytes, piece);
  if (whole.http != pieces.http || whole.heads != pieces.heads) std::abort();
  return 0;
}
