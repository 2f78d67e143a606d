#pragma once

// /metrics in the Prometheus text format (0.0.4): request counts and latency histograms per
// route (its path template, never the raw path, so ids cannot explode the series), event
// stream figures from the hub, and the fleet's counts read at scrape time. Thread-safe.

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <tuple>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "controller/api/sse_hub.h"
#include "controller/store/database.h"

namespace l4d2::controller {

class ApiMetrics {
 public:
  // `db` and `hub` must outlive the metrics. `more` (may be empty) adds series of other parts
  // of the controller (Prometheus text, HELP and TYPE lines included) at each scrape.
  ApiMetrics(Database& db, SseHub& hub, std::function<std::string()> more = nullptr);

  // One answered request of route `path` (its template).
  void Observe(const std::string& method, const std::string& path, int status,
               absl::Duration latency);
  // The exposition; UNAVAILABLE when the database does not answer.
  absl::StatusOr<std::string> Render();

  // Upper bounds of the latency buckets, in seconds.
  static constexpr std::array<double, 12> kBuckets = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                      0.05,   0.1,   0.25,   0.5,   1,    5};

 private:
  struct Series {
    std::array<int64_t, kBuckets.size()> buckets{};
    int64_t count = 0;
    double sum = 0;
  };

  Database& db_;
  SseHub& hub_;
  const std::function<std::string()> more_;
  absl::Mutex mutex_;
  // By (method, route, status code).
  std::map<std::tuple<std::string, std::string, int>, Series> series_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace l4d2::controller
