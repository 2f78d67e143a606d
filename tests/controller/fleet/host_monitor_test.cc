// Host health against the store on SQLite and PostgreSQL, with a fake clock and a fake agent:
// blips shorter than the grace raise nothing; an outage is marked in time and cleared on return.

#include "controller/fleet/host_monitor.h"

#include "controller/store/migrations.h"
#include "gmock/gmock.h"
#include "tests/controller/store/backend_test.h"

namespace l4d2::controller {
namespace {

class FakePinger final : public HostPinger {
 public:
  bool up = true;
  absl::StatusOr<agent::v1::HostInfo> Ping(const Host&) override {
    if (!up) return absl::UnavailableError("connection refused");
    agent::v1::HostInfo info;
    info.set_installed_build_id("9000001");
    return info;
  }
};

class HostMonitorTest : public BackendTest {
 protected:
  void SetUp() override {
    BackendTest::SetUp();
    if (IsSkipped()) return;
    ASSERT_TRUE(ApplyMigrations(*db_, ControllerMigrations(), clock_).ok());
    hosts_ = std::make_unique<HostStore>(*db_, clock_);
    auto created = hosts_->Create({.name = "h1", .address = "127.0.0.1:1"}, absl::Hours(1));
    ASSERT_TRUE(created.ok());
    host_id_ = created->first.id;
    ASSERT_TRUE(hosts_->RedeemEnrollmentToken(created->second).ok());
    monitor_ = std::make_unique<HostMonitor>(
        *hosts_, pinger_, clock_,
        HostMonitorOptions{.interval = absl::Seconds(5), .grace = absl::Seconds(15)});
  }

  // One round after the interval; the transitions it made.
  std::vector<HostTransition> Tick() {
    clock_.Advance(absl::Seconds(5));
    return monitor_->Round();
  }

  std::unique_ptr<HostStore> hosts_;
  FakePinger pinger_;
  std::unique_ptr<HostMonitor> monitor_;
  std::string host_id_;
};

TEST_P(HostMonitorTest, AHundredBlipsShorterThanTheGraceRaiseNoAlarm) {
  int transitions = 0;
  for (int blip = 0; blip < 100; ++blip) {
    pinger_.up = false;
    transitions += static_cast<int>(Tick().size() + Tick().size());  // 10 s without an answer.
    pinger_.up = true;
    transitions += static_cast<int>(Tick().size());
  }
  EXPECT_EQ(transitions, 0);
  EXPECT_EQ(hosts_->Get(host_id_)->state, "ready");
  EXPECT_EQ(hosts_->Get(host_id_)->installed_build, "9000001");
}

TEST_P(HostMonitorTest, AnOutageIsMarkedWithinTwentySecondsAndClearedWhenTheAgentReturns) {
  Tick();  // Seen.
  const absl::Time last_answer = clock_.Now();
  pinger_.up = false;
  absl::Time marked;
  for (int round = 0; round < 10 && marked == absl::Time(); ++round) {
    for (const HostTransition& t : Tick()) {
      if (t.to == "unreachable") marked = clock_.Now();
    }
  }
  ASSERT_NE(marked, absl::Time());
  EXPECT_LE(marked - last_answer, absl::Seconds(20));
  EXPECT_GT(marked - last_answer, absl::Seconds(15));
  EXPECT_EQ(hosts_->Get(host_id_)->state, "unreachable");
  EXPECT_TRUE(Tick().empty());  // Still down: no new alarm.
  pinger_.up = true;
  std::vector<HostTransition> back = Tick();
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(back[0].from, "unreachable");
  EXPECT_EQ(back[0].to, "ready");
  EXPECT_EQ(hosts_->Get(host_id_)->state, "ready");
}

TEST_P(HostMonitorTest, HostsStillEnrollingAreLeftAlone) {
  auto enrolling = hosts_->Create({.name = "h2", .address = "127.0.0.1:2"}, absl::Hours(1));
  pinger_.up = false;
  for (int i = 0; i < 10; ++i) Tick();
  EXPECT_EQ(hosts_->Get(enrolling->first.id)->state, "enrolling");
}

L4D2_INSTANTIATE_BACKEND_TEST(HostMonitorTest);

}  // namespace
}  // namespace l4d2::controller
