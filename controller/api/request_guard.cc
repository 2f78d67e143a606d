#include "controller/api/request_guard.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "controller/api/headers.h"
#include "l4d2/controller/v1/api.pb.h"
#include "rpc/proto_json.h"

namespace l4d2::controller {
namespace {

constexpr char kEndOfHead[] = "\r\n\r\n";
constexpr size_t kEndOfHeadSize = 4;
// A chunk-size line ("1a2b;ext=...\r\n") longer than this is refused.
constexpr size_t kMaxChunkLine = 1024;

absl::string_view Reason(int http) {
  switch (http) {
    case 400:
      return "Bad Request";
    case 413:
      return "Content Too Large";
    case 414:
      return "URI Too Long";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 503:
      return "Service Unavailable";
    default:
      return "Error";
  }
}

Refusal BadRequest(absl::string_view message) {
  return {.http = 400, .code = "INVALID_ARGUMENT", .message = std::string(message)};
}

Refusal TooLarge(int http, absl::string_view what, size_t limit) {
  return {.http = http,
          .code = "RESOURCE_EXHAUSTED",
          .message = absl::StrCat(what, " is over ", limit, " bytes")};
}

}  // namespace

std::string RefusalResponse(const Refusal& refusal) {
  v1::Error error;
  error.set_code(refusal.code);
  error.set_message(refusal.message);
  const std::string body = ToJson(error);
  std::string response =
      absl::StrCat("HTTP/1.1 ", refusal.http, " ", Reason(refusal.http),
                   "\r\nContent-Type: application/json\r\nContent-Length: ", body.size(),
                   "\r\nConnection: close\r\n");
  for (const auto& [name, value] : SecurityHeaders()) {
    absl::StrAppend(&response, name, ": ", value, "\r\n");
  }
  absl::StrAppend(&response, "Cache-Control: no-store\r\n");
  if (!refusal.retry_after.empty()) {
    absl::StrAppend(&response, "Retry-After: ", refusal.retry_after, "\r\n");
  }
  absl::StrAppend(&response, "\r\n", body);
  return response;
}

std::optional<Refusal> RequestScanner::Feed(
    absl::string_view bytes,
    absl::FunctionRef<std::optional<Refusal>(const RequestHead&)> on_head) {
  while (!refused_.has_value() && !bytes.empty()) {
    switch (phase_) {
      case Phase::kHead:
        refused_ = Head(bytes, on_head);
        break;
      case Phase::kBody: {
        const uint64_t taken = std::min<uint64_t>(left_, bytes.size());
        bytes.remove_prefix(taken);
        left_ -= taken;
        if (left_ == 0) phase_ = Phase::kHead;
        break;
      }
      case Phase::kChunkSize:
      case Phase::kTrailer: {
        const size_t end = bytes.find('\n');
        const size_t taken = end == absl::string_view::npos ? bytes.size() : end + 1;
        head_.append(bytes.data(), taken);
        bytes.remove_prefix(taken);
        if (head_.size() > kMaxChunkLine) {
          refused_ = BadRequest("a chunk line is too long");
        } else if (end != absl::string_view::npos) {
          refused_ = ChunkSizeLine();
        }
        break;
      }
      case Phase::kChunkData: {
        const uint64_t taken = std::min<uint64_t>(left_, bytes.size());
        bytes.remove_prefix(taken);
        left_ -= taken;
        if (left_ == 0) {
          phase_ = Phase::kChunkDataEnd;
          left_ = 2;  // CRLF
        }
        break;
      }
      case Phase::kChunkDataEnd: {
        const uint64_t taken = std::min<uint64_t>(left_, bytes.size());
        bytes.remove_prefix(taken);
        left_ -= taken;
        if (left_ == 0) phase_ = Phase::kChunkSize;
        break;
      }
      case Phase::kRefused:
        break;
    }
  }
  if (refused_.has_value()) phase_ = Phase::kRefused;
  return refused_;
}

std::optional<Refusal> RequestScanner::Head(
    absl::string_view& bytes,
    absl::FunctionRef<std::optional<Refusal>(const RequestHead&)> on_head) {
  // Look for the end of the head across the previous bytes' tail and the new ones.
  const size_t searched_from = head_.size() >= 3 ? head_.size() - 3 : 0;
  const size_t room = limits_.max_head_bytes + kEndOfHeadSize - head_.size();
  const size_t appended = std::min(bytes.size(), room);
  head_.append(bytes.data(), appended);
  const size_t end = head_.find(kEndOfHead, searched_from);
  if (end == std::string::npos) {
    bytes.remove_prefix(appended);
    if (head_.size() <= limits_.max_head_bytes) return std::nullopt;
    // Too long: a request line that never ended is a URL too long.
    if (head_.find("\r\n") == std::string::npos && head_.size() > limits_.max_url_bytes) {
      return TooLarge(414, "the request target", limits_.max_url_bytes);
    }
    return TooLarge(431, "the request head", limits_.max_head_bytes);
  }
  // What followed the head in these bytes belongs to its body (or to the next request).
  const size_t head_end = end + kEndOfHeadSize;
  bytes.remove_prefix(appended - (head_.size() - head_end));
  head_.resize(head_end);
  return EndOfHead(on_head);
}

std::optional<Refusal> RequestScanner::EndOfHead(
    absl::FunctionRef<std::optional<Refusal>(const RequestHead&)> on_head) {
  std::vector<absl::string_view> lines = absl::StrSplit(head_, "\r\n");
  // Blank lines before a request line are allowed (RFC 9112 2.2).
  size_t first = 0;
  while (first < lines.size() && lines[first].empty()) ++first;
  if (first == lines.size()) {
    head_.clear();
    return std::nullopt;
  }
  std::vector<absl::string_view> request_line = absl::StrSplit(lines[first], ' ');
  if (request_line.size() != 3) return BadRequest("malformed request line");
  if (request_line[1].size() > limits_.max_url_bytes) {
    return TooLarge(414, "the request target", limits_.max_url_bytes);
  }
  RequestHead head;
  std::optional<uint64_t> length;
  bool chunked = false;
  for (size_t i = first + 1; i < lines.size(); ++i) {
    const size_t colon = lines[i].find(':');
    if (colon == absl::string_view::npos) continue;
    const absl::string_view name = lines[i].substr(0, colon);
    const absl::string_view value = absl::StripAsciiWhitespace(lines[i].substr(colon + 1));
    if (absl::EqualsIgnoreCase(name, "content-length")) {
      uint64_t parsed = 0;
      if (!absl::SimpleAtoi(value, &parsed) || (length.has_value() && *length != parsed)) {
        return BadRequest("malformed Content-Length");
      }
      length = parsed;
    } else if (absl::EqualsIgnoreCase(name, "transfer-encoding")) {
      chunked = absl::StrContains(absl::AsciiStrToLower(value), "chunked");
    } else if (absl::EqualsIgnoreCase(name, "authorization") ||
               absl::EqualsIgnoreCase(name, "cookie")) {
      head.has_credentials = true;
    }
  }
  if (chunked && length.has_value()) {
    return BadRequest("both Content-Length and Transfer-Encoding");
  }
  if (length.value_or(0) > limits_.max_body_bytes) {
    return TooLarge(413, "the request body", limits_.max_body_bytes);
  }
  head_.clear();
  if (std::optional<Refusal> refused = on_head(head)) return refused;
  body_ = 0;
  if (chunked) {
    phase_ = Phase::kChunkSize;
  } else if (length.value_or(0) > 0) {
    phase_ = Phase::kBody;
    left_ = *length;
  }
  return std::nullopt;
}

// A complete chunk-size line in head_ (or a trailer line after the last chunk).
std::optional<Refusal> RequestScanner::ChunkSizeLine() {
  const std::string line(absl::StripTrailingAsciiWhitespace(head_));
  head_.clear();
  if (phase_ == Phase::kTrailer) {
    if (line.empty()) phase_ = Phase::kHead;  // the end of the request
    return std::nullopt;
  }
  uint64_t size = 0;
  const absl::string_view digits = absl::string_view(line).substr(0, line.find(';'));
  if (digits.empty() || digits.size() > 15 || !absl::SimpleHexAtoi(digits, &size)) {
    return BadRequest("malformed chunk size");
  }
  body_ += size;
  if (body_ > limits_.max_body_bytes) {
    return TooLarge(413, "the request body", limits_.max_body_bytes);
  }
  if (size == 0) {
    phase_ = Phase::kTrailer;
  } else {
    phase_ = Phase::kChunkData;
    left_ = size;
  }
  return std::nullopt;
}

std::optional<Refusal> AddressLimiter::Connect(const std::string& address) {
  if (limits_.max_connections <= 0) return std::nullopt;
  absl::MutexLock lock(&mutex_);
  Entry& entry = entries_[address];
  if (entry.connections >= limits_.max_connections) {
    return Refusal{.http = 503,
                   .code = "UNAVAILABLE",
                   .message = "too many connections from this address",
                   .retry_after = "1"};
  }
  ++entry.connections;
  return std::nullopt;
}

void AddressLimiter::Disconnect(const std::string& address) {
  if (limits_.max_connections <= 0) return;
  absl::MutexLock lock(&mutex_);
  auto it = entries_.find(address);
  if (it == entries_.end()) return;
  if (--it->second.connections <= 0 && it->second.refilled == absl::Time()) entries_.erase(it);
}

std::optional<Refusal> AddressLimiter::Unauthenticated(const std::string& address) {
  if (limits_.unauthenticated_per_second <= 0) return std::nullopt;
  const absl::Time now = clock_.Now();
  absl::MutexLock lock(&mutex_);
  // Addresses gone quiet long enough to have a full bucket again are forgotten.
  const absl::Duration full =
      absl::Seconds(limits_.unauthenticated_burst / limits_.unauthenticated_per_second);
  if (entries_.size() > 4096) {
    for (auto it = entries_.begin(); it != entries_.end();) {
      const Entry& quiet = it->second;
      if (quiet.connections <= 0 && now - quiet.refilled >= full) {
        entries_.erase(it++);
      } else {
        ++it;
      }
    }
  }
  Entry& entry = entries_[address];
  if (entry.refilled == absl::Time()) {
    entry.tokens = limits_.unauthenticated_burst;
  } else {
    entry.tokens = std::min(limits_.unauthenticated_burst,
                            entry.tokens + absl::ToDoubleSeconds(now - entry.refilled) *
                                               limits_.unauthenticated_per_second);
  }
  entry.refilled = now;
  if (entry.tokens < 1) {
    return Refusal{.http = 429,
                   .code = "RESOURCE_EXHAUSTED",
                   .message = "too many requests without credentials from this address",
                   .retry_after = "1"};
  }
  entry.tokens -= 1;
  return std::nullopt;
}

}  // namespace l4d2::controller
