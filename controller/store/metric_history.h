#pragma once

// Servers' metric history (tables `metric_samples`, `metric_rollups`): what a running server's
// agent reported each reconcile round (players, CPU time, memory, A2S latency), kept at three
// resolutions as round-robin databases and Prometheus' recording rules do:
//
//   samples     as taken (one per reconcile round, 10 s by default)   kept `raw` (1 day)
//   1 minute    the samples of each minute rolled into one point       kept `minute` (7 days)
//   10 minutes  the minutes of each 10 minutes rolled into one point   kept `ten_minutes` (90 days)
//
// A rolled-up point holds the bucket's highest players and memory, and its last CPU time (a
// running total: CPU use over time is the difference between points). Samples are written by
// the reconciler with the round's observations (ServerStore::ObserveHosts); Maintain rolls up
// what is complete and deletes what is past its retention, a bucket at most once (a mark per
// resolution in `metric_rollup_marks`, moved in the same transaction). A read picks the finest
// resolution that still holds the range's start and returns at most `max_points` points,
// grouping that resolution's points further in SQL when the range holds more. Thread-safe.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "controller/store/database.h"

namespace l4d2::controller {

struct MetricSample {
  absl::Time at;
  int players = 0;
  int64_t cpu_millis = 0;  // CPU time used since the server started
  int64_t memory_bytes = 0;
  absl::Duration latency;  // of the A2S query (samples only; zero in rolled-up points)
};

struct MetricRetention {
  absl::Duration raw = absl::Hours(24);
  absl::Duration minute = absl::Hours(24 * 7);
  absl::Duration ten_minutes = absl::Hours(24 * 90);
};

struct MetricSeriesPoints {
  // At most one point per step: the resolution read, or the buckets it was grouped into.
  absl::Duration step;
  std::vector<MetricSample> points;  // oldest first; a point's time: its newest sample's
};

class MetricHistory {
 public:
  // At most this many points per read.
  static constexpr int kMaxPoints = 5000;

  // `db` and `clock` must outlive the history.
  MetricHistory(Database& db, Clock& clock, MetricRetention retention = {});

  // Rolls complete minutes of samples into 1-minute points and complete 10 minutes of those
  // into 10-minute points, then deletes points past their retention. Cheap when there is
  // nothing new: the reconciler's leader calls it every round.
  absl::Status Maintain();

  // The points of one server in [from, to), at most `max_points` (1 to kMaxPoints).
  absl::StatusOr<MetricSeriesPoints> Read(const std::string& server_id, absl::Time from,
                                          absl::Time to, int max_points = 1000);

  // The newest sample of a server: its live figures while it runs. nullopt when none is kept.
  absl::StatusOr<std::optional<MetricSample>> Latest(const std::string& server_id);

  const MetricRetention& retention() const { return retention_; }

 private:
  Database& db_;
  Clock& clock_;
  MetricRetention retention_;
};

}  // namespace l4d2::controller
