// The player watch against scripted instances: senders follow the instances, a server whose
// process went away has nobody left in it, and `status` is asked only when A2S and the log
// disagree, at most once per gap.

#include "agent/players/player_watch.h"

#include <vector>

#include "agent/os/linux/udp_log_socket.h"
#include "gtest/gtest.h"
#include "tests/fakes/fake_clock.h"

namespace l4d2::agent {
namespace {

constexpr char kStatus[] = R"(hostname: coop #1
map     : c5m1_waterfront at: 0 x, 0 y, 0 z
players : 1 humans, 0 bots (8 max) (not hibernating)

# userid name uniqueid connected ping loss state rate adr
#  2 1 "Ellis" STEAM_1:0:11101 05:11 45 0 active 30000 203.0.113.7:27005
#end
)";

class PlayerWatchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto socket = UdpLogSocket::Open("127.0.0.1", 0);
    ASSERT_TRUE(socket.ok()) << socket.status();
    socket_ = *std::move(socket);
    log_ = std::make_unique<GameLogService>(*socket_, clock_);
    watch_ = std::make_unique<PlayerWatch>(
        *log_,
        PlayerWatchSources{
            .instances = [this] { return list_; },
            .log_secret = [](const std::string& name) -> absl::StatusOr<std::string> {
              return name == "broken" ? absl::StatusOr<std::string>(absl::NotFoundError("gone"))
                                      : absl::StatusOr<std::string>("123456789");
            },
            .console = [this](const std::string& name,
                              const std::string& command) -> absl::StatusOr<std::string> {
              asked_.push_back(name + ": " + command);
              return std::string(kStatus);
            }},
        clock_, PlayerWatchOptions{.reconcile_gap = absl::Seconds(30)});
  }

  // An instance on `port` whose unit runs as `pid` (0: stopped), A2S counting `players`.
  void Set(const std::string& name, int port, int pid, int players) {
    for (v1::Instance& instance : *list_.mutable_instances()) {
      if (instance.name() != name) continue;
      instance.mutable_status()->mutable_unit()->set_main_pid(pid);
      instance.mutable_status()->mutable_game()->set_reachable(pid != 0);
      instance.mutable_status()->mutable_game()->set_players(players);
      return;
    }
    v1::Instance* instance = list_.add_instances();
    instance->set_name(name);
    instance->mutable_spec()->set_port(port);
    Set(name, port, pid, players);
  }

  ::l4d2::testing::FakeClock clock_;
  std::unique_ptr<UdpLogSocket> socket_;
  std::unique_ptr<GameLogService> log_;
  std::unique_ptr<PlayerWatch> watch_;
  v1::ListInstancesResponse list_;
  std::vector<std::string> asked_;
};

TEST_F(PlayerWatchTest, AsksStatusOnlyWhenA2sAndTheLogDisagreeAndAtMostOncePerGap) {
  Set("coop1", 27015, 100, 0);
  Set("coop2", 27016, 0, 0);
  Set("broken", 27017, 100, 0);
  EXPECT_EQ(watch_->Round(), 0);  // everyone agrees: nobody is asked
  EXPECT_TRUE(log_->State("coop1").has_value());
  EXPECT_TRUE(log_->State("coop2").has_value());
  EXPECT_FALSE(log_->State("broken").has_value());  // no secret: not listened to
  // The agent restarted while Ellis played: A2S counts one, the log none.
  Set("coop1", 27015, 100, 1);
  EXPECT_EQ(watch_->Round(), 1);
  EXPECT_EQ(asked_, std::vector<std::string>{"coop1: status"});
  EXPECT_EQ(log_->State("coop1")->players(), 1);
  EXPECT_EQ(log_->State("coop1")->map(), "c5m1_waterfront");
  // A2S says two (someone connecting): asked again only after the gap.
  Set("coop1", 27015, 100, 2);
  EXPECT_EQ(watch_->Round(), 0);
  clock_.Advance(absl::Seconds(31));
  EXPECT_EQ(watch_->Round(), 1);
  // The server crashed and systemd started it again: nobody is in the new one.
  Set("coop1", 27015, 200, 0);
  EXPECT_EQ(watch_->Round(), 0);
  EXPECT_EQ(log_->State("coop1")->players(), 0);
  absl::StatusOr<v1::ListPlayerEventsResponse> events = log_->ListEvents("coop1", 0, 0, 100);
  ASSERT_TRUE(events.ok());
  ASSERT_GE(events->events_size(), 2);
  EXPECT_EQ(events->events(events->events_size() - 1).kind(), v1::PlayerEvent::KIND_LEFT);
  EXPECT_EQ(events->events(events->events_size() - 1).text(), "server restarted");
  // A deleted instance is forgotten.
  list_.mutable_instances()->DeleteSubrange(1, 2);
  watch_->Round();
  EXPECT_FALSE(log_->State("coop2").has_value());
}

}  // namespace
}  // namespace l4d2::agent
