#include "controller/store/metric_history.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "soci/soci.h"

namespace l4d2::controller {
namespace {

constexpr int64_t kMinuteMs = 60'000;
constexpr int64_t kTenMinutesMs = 600'000;

// Rolls the points of `source` (restricted by `where`) in [mark, until) into `step_ms` points
// of metric_rollups and moves the resolution's mark to `until`; the mark, moved or not. Steps
// are constants of this file, written into the SQL as numbers: PostgreSQL matches a select
// expression to its GROUP BY by text, which parameters would defeat.
int64_t RollUp(soci::session& sql, int64_t step_ms, const std::string& source,
               const std::string& where, int64_t until) {
  const int step_s = static_cast<int>(step_ms / 1000);
  long long mark = 0;
  sql << "SELECT done_until_ms FROM metric_rollup_marks WHERE step_s = :s", soci::use(step_s),
      soci::into(mark);
  if (!sql.got_data()) mark = 0;  // The first time: everything the source holds.
  if (until <= mark) return mark;
  long long until_ms = until;
  sql << absl::StrCat(
      "INSERT INTO metric_rollups (server_id, step_s, at_ms, players, cpu_millis,"
      " memory_bytes) SELECT server_id, ",
      step_s, ", (at_ms / ", step_ms, ") * ", step_ms,
      ", MAX(players), MAX(cpu_millis), MAX(memory_bytes) FROM ", source, " WHERE ", where,
      "at_ms >= :mark AND at_ms < :until GROUP BY server_id,"
      " at_ms / ",
      step_ms, " ON CONFLICT (server_id, step_s, at_ms) DO NOTHING"),
      soci::use(mark), soci::use(until_ms);
  sql << "INSERT INTO metric_rollup_marks (step_s, done_until_ms) VALUES (:s, :u)"
         " ON CONFLICT (step_s) DO UPDATE SET done_until_ms = excluded.done_until_ms",
      soci::use(step_s), soci::use(until_ms);
  return until;
}

}  // namespace

MetricHistory::MetricHistory(Database& db, Clock& clock, MetricRetention retention)
    : db_(db), clock_(clock), retention_(retention) {}

absl::Status MetricHistory::Maintain() {
  const absl::Time now = clock_.Now();
  const int64_t now_ms = absl::ToUnixMillis(now);
  return db_.Transact([&](soci::session& sql) -> absl::Status {
    // Complete buckets only: a minute is complete once it has passed, ten minutes once their
    // last minute was rolled up.
    const int64_t minutes_done =
        RollUp(sql, kMinuteMs, "metric_samples", "", now_ms / kMinuteMs * kMinuteMs);
    RollUp(sql, kTenMinutesMs, "metric_rollups", "step_s = 60 AND ",
           minutes_done / kTenMinutesMs * kTenMinutesMs);
    long long raw_before = absl::ToUnixMillis(now - retention_.raw);
    long long minute_before = absl::ToUnixMillis(now - retention_.minute);
    long long ten_before = absl::ToUnixMillis(now - retention_.ten_minutes);
    sql << "DELETE FROM metric_samples WHERE at_ms < :b", soci::use(raw_before);
    sql << "DELETE FROM metric_rollups WHERE step_s = 60 AND at_ms < :b", soci::use(minute_before);
    sql << "DELETE FROM metric_rollups WHERE step_s = 600 AND at_ms < :b", soci::use(ten_before);
    return absl::OkStatus();
  });
}

absl::StatusOr<MetricSeriesPoints> MetricHistory::Read(const std::string& server_id,
                                                       absl::Time from, absl::Time to,
                                                       int max_points) {
  if (max_points < 1 || max_points > kMaxPoints) {
    return absl::InvalidArgumentError(absl::StrCat("max_points: 1 to ", kMaxPoints));
  }
  if (to <= from) return absl::InvalidArgumentError("to: must be after from");
  const absl::Time now = clock_.Now();
  // The finest resolution that still holds the start of the range.
  std::string table = "metric_samples WHERE ";
  int64_t resolution_ms = 1;  // samples: as taken
  absl::Time oldest = now - retention_.raw;
  if (from < oldest) {
    table = "metric_rollups WHERE step_s = 60 AND ";
    resolution_ms = kMinuteMs;
    oldest = now - retention_.minute;
    if (from < oldest) {
      table = "metric_rollups WHERE step_s = 600 AND ";
      resolution_ms = kTenMinutesMs;
      oldest = now - retention_.ten_minutes;
    }
  }
  // Nothing is kept outside [oldest, now]: the range's length counts only that part.
  const int64_t first_ms = absl::ToUnixMillis(std::max(from, oldest));
  const int64_t end_ms = absl::ToUnixMillis(std::min(to, now + absl::Seconds(1)));
  MetricSeriesPoints series;
  // Buckets from the range's start, a whole number of the resolution long, at most max_points
  // of them.
  int64_t bucket_ms = resolution_ms;
  if (end_ms > first_ms) {
    const int64_t span = end_ms - first_ms;
    bucket_ms = std::max(resolution_ms, (span + max_points - 1) / max_points);
    bucket_ms = (bucket_ms + resolution_ms - 1) / resolution_ms * resolution_ms;
  }
  series.step = absl::Milliseconds(bucket_ms);
  if (end_ms <= first_ms) return series;
  const bool samples = resolution_ms == 1;
  L4D2_RETURN_IF_ERROR(db_.WithSession([&](soci::session& sql) -> absl::Status {
    long long from_ms = first_ms, to_ms = end_ms;
    long long at = 0, cpu = 0, memory = 0, latency = 0;
    int players = 0;
    soci::statement statement =
        (sql.prepare << absl::StrCat("SELECT MAX(at_ms), MAX(players), MAX(cpu_millis),"
                                     " MAX(memory_bytes), ",
                                     samples ? "MAX(latency_us)" : "0", " FROM ", table,
                                     "server_id = :id AND at_ms >= :f AND at_ms < :t GROUP BY"
                                     " (at_ms - ",
                                     first_ms, ") / ", bucket_ms, " ORDER BY 1"),
         soci::use(server_id), soci::use(from_ms), soci::use(to_ms), soci::into(at),
         soci::into(players), soci::into(cpu), soci::into(memory), soci::into(latency));
    statement.execute();
    while (statement.fetch()) {
      series.points.push_back({.at = absl::FromUnixMillis(at),
                               .players = players,
                               .cpu_millis = cpu,
                               .memory_bytes = memory,
                               .latency = absl::Microseconds(latency)});
    }
    return absl::OkStatus();
  }));
  return series;
}

absl::StatusOr<std::optional<MetricSample>> MetricHistory::Latest(const std::string& server_id) {
  std::optional<MetricSample> latest;
  L4D2_RETURN_IF_ERROR(db_.WithSession([&](soci::session& sql) -> absl::Status {
    long long at = 0, cpu = 0, memory = 0, latency = 0;
    int players = 0;
    sql << "SELECT at_ms, players, cpu_millis, memory_bytes, latency_us FROM metric_samples"
           " WHERE server_id = :id ORDER BY at_ms DESC LIMIT 1",
        soci::use(server_id), soci::into(at), soci::into(players), soci::into(cpu),
        soci::into(memory), soci::into(latency);
    if (sql.got_data()) {
      latest = MetricSample{.at = absl::FromUnixMillis(at),
                            .players = players,
                            .cpu_millis = cpu,
                            .memory_bytes = memory,
                            .latency = absl::Microseconds(latency)};
    }
    return absl::OkStatus();
  }));
  return latest;
}

}  // namespace l4d2::controller
