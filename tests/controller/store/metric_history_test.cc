// Servers' metric history (controller/store/metric_history.h) on SQLite and PostgreSQL: samples
// rolled into 1-minute and 10-minute points, each kept for its retention, and reads that pick
// the resolution for the range and never return more than asked.

#include "controller/store/metric_history.h"

#include "controller/store/fleet_stores.h"
#include "controller/store/migrations.h"
#include "controller/store/users.h"
#include "gmock/gmock.h"
#include "tests/controller/store/backend_test.h"

namespace l4d2::controller {
namespace {

class MetricHistoryTest : public FleetBackendTest {
 protected:
  void SetUp() override {
    FleetBackendTest::SetUp();
    if (IsSkipped()) return;
    const Actor alice = NewUser("alice");
    BlueprintInput input{.name = "bp"};
    input.settings.set_game_mode("coop");
    const std::string blueprint = stores_->blueprints.Create(alice, input)->id;
    server_ = stores_->servers.Create(alice, "s1", blueprint, DesiredState::kRunning)->id;
    // The fake clock starts on a 10-minute edge, so that buckets are easy to count.
    ASSERT_EQ(absl::ToUnixSeconds(clock_.Now()) % 600, 0);
  }

  // A sample every 10 s from now for `length`, the clock moving with them: players cycling
  // 0..7, CPU time growing by 1 s and memory by 1 MiB per sample. Written as the reconciler
  // would.
  void Run(absl::Duration length) {
    const absl::Time end = clock_.Now() + length;
    while (clock_.Now() < end) {
      ++taken_;
      ASSERT_TRUE(db_->Transact([&](soci::session& sql) {
                       long long at = absl::ToUnixMillis(clock_.Now());
                       long long cpu = taken_ * 1000, memory = taken_ << 20, latency = 2500;
                       int players = taken_ % 8;
                       sql << "INSERT INTO metric_samples (server_id, at_ms, players, cpu_millis,"
                              " memory_bytes, latency_us) VALUES (:s, :a, :p, :c, :m, :l)",
                           soci::use(server_), soci::use(at), soci::use(players), soci::use(cpu),
                           soci::use(memory), soci::use(latency);
                       return absl::OkStatus();
                     })
                      .ok());
      clock_.Advance(absl::Seconds(10));
    }
  }

  int64_t Points(int step_s) {
    int64_t count = -1;
    EXPECT_TRUE(db_->WithSession([&](soci::session& sql) {
                     long long n = 0;
                     sql << "SELECT COUNT(*) FROM metric_rollups WHERE step_s = :s",
                         soci::use(step_s), soci::into(n);
                     count = n;
                     return absl::OkStatus();
                   })
                    .ok());
    return count;
  }

  std::string server_;
  long long taken_ = 0;
};

TEST_P(MetricHistoryTest, SamplesRollIntoMinutesAndTenMinutesOnce) {
  Run(absl::Hours(3));  // 1,080 samples
  ASSERT_TRUE(stores_->metrics.Maintain().ok());
  EXPECT_EQ(Points(60), 180);
  EXPECT_EQ(Points(600), 18);
  ASSERT_TRUE(stores_->metrics.Maintain().ok());  // Nothing new: nothing twice.
  EXPECT_EQ(Points(60), 180);
  EXPECT_EQ(Points(600), 18);
  // A minute is rolled up once it has passed, ten minutes once their minutes were.
  Run(absl::Seconds(50));
  ASSERT_TRUE(stores_->metrics.Maintain().ok());
  EXPECT_EQ(Points(60), 180);  // The minute is not over yet.
  clock_.Advance(absl::Seconds(10));
  ASSERT_TRUE(stores_->metrics.Maintain().ok());
  EXPECT_EQ(Points(60), 181);
  EXPECT_EQ(Points(600), 18);
  EXPECT_EQ(Count("metric_samples"), 1085);  // All within the day samples are kept.
}

TEST_P(MetricHistoryTest, AReadPicksTheFinestResolutionThatHoldsItsStartAndCapsThePoints) {
  Run(absl::Hours(48));
  ASSERT_TRUE(stores_->metrics.Maintain().ok());
  // The day's samples stay; those before went, rolled up.
  EXPECT_EQ(Count("metric_samples"), 8640);
  const absl::Time now = clock_.Now();

  // The last hour: every sample, as taken.
  absl::StatusOr<MetricSeriesPoints> hour =
      stores_->metrics.Read(server_, now - absl::Hours(1), now);
  ASSERT_TRUE(hour.ok()) << hour.status();
  ASSERT_EQ(hour->points.size(), 360u);
  EXPECT_LE(hour->step, absl::Seconds(10));
  EXPECT_EQ(hour->points.back().at, now - absl::Seconds(10));
  EXPECT_EQ(hour->points.back().cpu_millis, taken_ * 1000);
  EXPECT_EQ(hour->points.back().latency, absl::Microseconds(2500));

  // The same hour in at most 60 points: minutes, each with its highest players and memory and
  // its last CPU time.
  absl::StatusOr<MetricSeriesPoints> coarse =
      stores_->metrics.Read(server_, now - absl::Hours(1), now, 60);
  ASSERT_TRUE(coarse.ok());
  EXPECT_EQ(coarse->points.size(), 60u);
  EXPECT_EQ(coarse->step, absl::Minutes(1));
  EXPECT_EQ(coarse->points.back().cpu_millis, taken_ * 1000);
  EXPECT_EQ(coarse->points.back().memory_bytes, taken_ << 20);

  // Two days: past the samples' retention, read from the minutes, grouped to 1,000 points.
  absl::StatusOr<MetricSeriesPoints> days =
      stores_->metrics.Read(server_, now - absl::Hours(47), now + absl::Seconds(1));
  ASSERT_TRUE(days.ok());
  EXPECT_LE(days->points.size(), 1000u);
  EXPECT_GE(days->points.size(), 900u);
  EXPECT_EQ(days->step, absl::Minutes(3));
  for (const MetricSample& point : days->points) {
    EXPECT_EQ(point.players, 7);  // the highest of the bucket
    EXPECT_EQ(point.latency, absl::ZeroDuration());
  }
  // The newest minute is complete: its last sample's CPU time.
  EXPECT_EQ(days->points.back().cpu_millis, taken_ * 1000);

  // Ten days on, only 10-minute points hold those days.
  clock_.Advance(absl::Hours(24 * 10));
  ASSERT_TRUE(stores_->metrics.Maintain().ok());
  EXPECT_EQ(Count("metric_samples"), 0);
  EXPECT_EQ(Points(60), 0);
  EXPECT_EQ(Points(600), 288);
  absl::StatusOr<MetricSeriesPoints> old =
      stores_->metrics.Read(server_, clock_.Now() - absl::Hours(24 * 30), clock_.Now());
  ASSERT_TRUE(old.ok());
  EXPECT_EQ(old->step, absl::Minutes(50));  // 30 days in at most 1,000 points
  EXPECT_GE(old->points.size(), 57u);
  EXPECT_LE(old->points.size(), 59u);
  old = stores_->metrics.Read(server_, clock_.Now() - absl::Hours(24 * 30), clock_.Now(), 5000);
  ASSERT_TRUE(old.ok());
  EXPECT_EQ(old->step, absl::Minutes(10));
  EXPECT_EQ(old->points.size(), 288u);

  // Bad ranges and caps change nothing and say why.
  EXPECT_EQ(stores_->metrics.Read(server_, now, now).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(stores_->metrics.Read(server_, now - absl::Hours(1), now, 0).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(stores_->metrics.Read(server_, now - absl::Hours(1), now, 5001).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_P(MetricHistoryTest, TheNewestSampleIsTheLiveFigure) {
  EXPECT_FALSE(stores_->metrics.Latest(server_)->has_value());
  Run(absl::Minutes(1));
  absl::StatusOr<std::optional<MetricSample>> latest = stores_->metrics.Latest(server_);
  ASSERT_TRUE(latest.ok());
  ASSERT_TRUE(latest->has_value());
  EXPECT_EQ((*latest)->at, clock_.Now() - absl::Seconds(10));
  EXPECT_EQ((*latest)->cpu_millis, 6000);
  EXPECT_EQ((*latest)->latency, absl::Microseconds(2500));
}

L4D2_INSTANTIATE_BACKEND_TEST(MetricHistoryTest);

}  // namespace
}  // namespace l4d2::controller
