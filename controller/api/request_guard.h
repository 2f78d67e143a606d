#pragma once

// What stands between a socket and Pistache's request parser: every byte a client sends is
// scanned here first, on the reactor thread, so a request over its limits is refused as soon
// as its head says so (or as its chunked body crosses the limit), with a JSON error and the
// connection closed, instead of being read to its end and refused after (Pistache 0.0.5 reads
// a body up to its buffer limit, answers a plain-text 413 and goes on reading).
//
//   RequestScanner   one connection's bytes, request by request: head size, URL length,
//                    Content-Length, chunked body size; pipelined requests. Pure.
//   AddressLimiter   per client address: open connections, and the rate of requests without
//                    credentials (a token bucket). Thread-safe; shared by the reactors.
//   Refusal          the status, code and message to answer with, as raw HTTP bytes.

#include <cstdint>
#include <optional>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/function_ref.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"

namespace l4d2::controller {

struct RequestLimits {
  size_t max_body_bytes = 1 << 20;
  // The request line and headers together ("431 Request Header Fields Too Large" above).
  size_t max_head_bytes = 64 << 10;
  // The request target ("414 URI Too Long" above).
  size_t max_url_bytes = 8 << 10;
};

// An answer that ends the connection.
struct Refusal {
  int http = 400;
  std::string code;  // canonical code name, as every API error's
  std::string message;
  std::string retry_after;  // seconds, for 429/503 ("" none)
};

// The raw response for `refusal`: a JSON error body ({code, message}), the security headers,
// "Connection: close".
std::string RefusalResponse(const Refusal& refusal);

// What a complete request head tells.
struct RequestHead {
  bool has_credentials = false;  // an Authorization header or a Cookie
};

class RequestScanner {
 public:
  explicit RequestScanner(const RequestLimits& limits) : limits_(limits) {}

  // Scans the next bytes of the connection. `on_head` is called for each request whose head
  // completes (a refusal from it ends the scan). A refusal once returned is returned for every
  // later call: the connection is to be closed.
  std::optional<Refusal> Feed(
      absl::string_view bytes,
      absl::FunctionRef<std::optional<Refusal>(const RequestHead&)> on_head);

 private:
  enum class Phase { kHead, kBody, kChunkSize, kChunkData, kChunkDataEnd, kTrailer, kRefused };

  // Each consumes from `bytes` what belongs to its phase.
  std::optional<Refusal> Head(
      absl::string_view& bytes,
      absl::FunctionRef<std::optional<Refusal>(const RequestHead&)> on_head);
  std::optional<Refusal> EndOfHead(
      absl::FunctionRef<std::optional<Refusal>(const RequestHead&)> on_head);
  std::optional<Refusal> ChunkSizeLine();

  const RequestLimits limits_;
  Phase phase_ = Phase::kHead;
  std::string head_;   // the current request's head so far (kHead), or a chunk line
  uint64_t left_ = 0;  // body bytes (kBody) or chunk bytes (kChunkData) still to come
  uint64_t body_ = 0;  // a chunked body's size so far
  std::optional<Refusal> refused_;
};

struct AddressLimits {
  // Connections open at once from one address (0: no limit).
  int max_connections = 1024;
  // Requests without credentials from one address: a bucket of `burst` refilled at `per_second`
  // (0: no limit). Sign-in, health checks and the web UI's files are such requests.
  double unauthenticated_per_second = 100;
  double unauthenticated_burst = 1000;
};

class AddressLimiter {
 public:
  // `clock` must outlive the limiter.
  AddressLimiter(Clock& clock, AddressLimits limits) : clock_(clock), limits_(limits) {}

  // A new connection from `address`: a refusal (503) when it has too many open.
  std::optional<Refusal> Connect(const std::string& address);
  void Disconnect(const std::string& address);
  // A request without credentials from `address`: a refusal (429) when over its rate.
  std::optional<Refusal> Unauthenticated(const std::string& address);

 private:
  struct Entry {
    int connections = 0;
    double tokens = 0;
    absl::Time refilled;
  };

  Clock& clock_;
  const AddressLimits limits_;
  absl::Mutex mutex_;
  absl::flat_hash_map<std::string, Entry> entries_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace l4d2::controller
