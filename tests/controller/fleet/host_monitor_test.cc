// Host health against the store on SQLite and PostgreSQL, with a fake clock and a fake agent:
// blips shorter than the grace raise nothing; an outage is marked in time and cleared on return.

#include "controller/fleet/host_monitor.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <set>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "controller/store/migrations.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "tests/controller/store/backend_test.h"

namespace l4d2::controller {
namespace {

using ::testing::ElementsAre;

class FakePinger final : public HostPinger {
 public:
  bool up = true;
  std::string build = "9000001";  // what the agents report installed
  std::optional<absl::Time> at;   // when the hosts said it (a report); unset: during the round
  uint64_t disk_free = 60, disk_total = 100;  // GiB
  std::vector<absl::StatusOr<HostAnswer>> PingAll(const std::vector<Host>& hosts) override {
    std::vector<absl::StatusOr<HostAnswer>> answers;
    for (size_t i = 0; i < hosts.size(); ++i) {
      if (!up) {
        answers.push_back(absl::UnavailableError("connection refused"));
        continue;
      }
      agent::v1::HostInfo info;
      info.set_installed_build_id(build);
      info.set_disk_free_bytes(disk_free << 30);
      info.set_disk_total_bytes(disk_total << 30);
      answers.push_back(HostAnswer{.info = info, .at = at});
    }
    return answers;
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
    audit_ = std::make_unique<AuditLog>(*db_, clock_);
    monitor_ = std::make_unique<HostMonitor>(
        *hosts_, pinger_, clock_,
        HostMonitorOptions{.interval = absl::Seconds(5), .grace = absl::Seconds(15)}, audit_.get());
  }

  // One round after the interval; the transitions it made.
  std::vector<HostTransition> Tick() {
    clock_.Advance(absl::Seconds(5));
    return monitor_->Round();
  }

  std::unique_ptr<HostStore> hosts_;
  std::unique_ptr<AuditLog> audit_;
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

// A disk nearly full (under 10 % free) is audited once, as is its end (over 15 %): a disk
// hovering around the line raises one alert, not one per round; a second controller's monitor
// (another process, the same database) does not audit it again.
TEST_P(HostMonitorTest, ADiskNearlyFullIsAuditedOnceAndItsEndOnce) {
  auto audited = [&](const std::string& action) {
    return static_cast<int>(audit_->List({.action_prefix = action})->size());
  };
  Tick();
  EXPECT_FALSE(hosts_->Get(host_id_)->disk_low);
  pinger_.disk_free = 9;
  Tick();
  EXPECT_TRUE(hosts_->Get(host_id_)->disk_low);
  HostMonitor other(*hosts_, pinger_, clock_,
                    {.interval = absl::Seconds(5), .grace = absl::Seconds(15)}, audit_.get());
  for (uint64_t free : {11, 9, 12, 8, 14}) {
    pinger_.disk_free = free;
    Tick();
    other.Round();
  }
  EXPECT_EQ(audited("host.disk_low"), 1);
  EXPECT_EQ(audited("host.disk_ok"), 0);
  const AuditEntry low = audit_->List({.action_prefix = "host.disk_low"})->front();
  EXPECT_THAT(low.detail, ::testing::HasSubstr(R"("free_percent":"9.0")"));
  pinger_.disk_free = 16;
  Tick();
  other.Round();
  EXPECT_FALSE(hosts_->Get(host_id_)->disk_low);
  EXPECT_EQ(audited("host.disk_ok"), 1);
  // Judging off: nothing.
  HostMonitor off(*hosts_, pinger_, clock_, {.disk_low_percent = 0}, audit_.get());
  pinger_.disk_free = 1;
  off.Round();
  EXPECT_FALSE(hosts_->Get(host_id_)->disk_low);
}

// A report is up to an interval old, and the agent reads its build from the app manifest
// steamcmd rewrites while it works: neither a report made before an install job wrote the
// build nor one without a build undoes it (the placement of servers needs it; the fleet test
// placed every server on one host while the others' builds flickered to "").
TEST_P(HostMonitorTest, ReportsChangeTheBuildOnlyWhenTheyChangeIt) {
  pinger_.build = "";
  Tick();
  EXPECT_EQ(hosts_->Get(host_id_)->installed_build, "");
  // The install job writes the build; the agent's next reports were made before it finished.
  ASSERT_TRUE(hosts_->SetInstalledBuild(host_id_, "9000001").ok());
  Tick();
  Tick();
  EXPECT_EQ(hosts_->Get(host_id_)->installed_build, "9000001");
  pinger_.build = "9000001";
  Tick();
  pinger_.build = "";  // steamcmd at work
  Tick();
  EXPECT_EQ(hosts_->Get(host_id_)->installed_build, "9000001");
  // A build the agent has that the row does not (an update by hand): written.
  pinger_.build = "9000002";
  Tick();
  EXPECT_EQ(hosts_->Get(host_id_)->installed_build, "9000002");
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
  // Both changes are in the audit log, by the system.
  absl::StatusOr<std::vector<AuditEntry>> audit = audit_->Newest(10);
  ASSERT_TRUE(audit.ok());
  ASSERT_EQ(audit->size(), 2u);
  EXPECT_EQ((*audit)[0].actor, "system");
  EXPECT_EQ((*audit)[0].detail, R"({"from":"unreachable","to":"ready"})");
  EXPECT_EQ((*audit)[1].detail, R"({"from":"ready","to":"unreachable"})");
}

TEST_P(HostMonitorTest, ARestartedControllerJudgesOnlySilenceItWatched) {
  Tick();  // Seen by the controller before it went down.
  monitor_.reset();
  clock_.Advance(absl::Minutes(10));  // Down for ten minutes: last_seen is far past the grace.
  monitor_ = std::make_unique<HostMonitor>(
      *hosts_, pinger_, clock_,
      HostMonitorOptions{.interval = absl::Seconds(5), .grace = absl::Seconds(15)}, audit_.get());
  // Its first rounds do not get through (handshakes still queued): no alarm yet.
  pinger_.up = false;
  const absl::Time first_round = clock_.Now() + absl::Seconds(5);
  absl::Time marked;
  for (int round = 0; round < 10 && marked == absl::Time(); ++round) {
    for (const HostTransition& t : Tick()) {
      if (t.to == "unreachable") marked = clock_.Now();
    }
  }
  // A host that stays silent is still marked, one grace after the first round watched it.
  ASSERT_NE(marked, absl::Time());
  EXPECT_GT(marked - first_round, absl::Seconds(15));
  EXPECT_LE(marked - first_round, absl::Seconds(20));
}

TEST_P(HostMonitorTest, AHostIsSeenWhenItSaidSoNotWhenTheRoundRead) {
  // Every answer written at once, to read it back.
  monitor_ = std::make_unique<HostMonitor>(
      *hosts_, pinger_, clock_,
      HostMonitorOptions{
          .interval = absl::Seconds(5), .grace = absl::Seconds(15), .seen_write_interval = {}},
      audit_.get());
  Tick();
  // A report that arrived 4 s before the round: last_seen is its arrival.
  pinger_.at = clock_.Now() + absl::Seconds(1);
  Tick();
  ASSERT_TRUE(hosts_->Get(host_id_)->last_seen.has_value());
  EXPECT_EQ(*hosts_->Get(host_id_)->last_seen, *pinger_.at);
  // Silence is then counted from it: marked within grace + an interval of the last report.
  const absl::Time last_report = *pinger_.at;
  pinger_.up = false;
  pinger_.at.reset();
  absl::Time marked;
  for (int round = 0; round < 10 && marked == absl::Time(); ++round) {
    for (const HostTransition& t : Tick()) {
      if (t.to == "unreachable") marked = clock_.Now();
    }
  }
  ASSERT_NE(marked, absl::Time());
  EXPECT_GT(marked - last_report, absl::Seconds(15));
  EXPECT_LE(marked - last_report, absl::Seconds(20));
}

// Host health writes a host's row when something changed, and its last_seen at most once a
// minute: a fleet that is fine costs next to no writes.
TEST_P(HostMonitorTest, LastSeenIsWrittenOnceAMinuteOrWhenTheHostComesBack) {
  Tick();
  const absl::Time first = *hosts_->Get(host_id_)->last_seen;
  EXPECT_EQ(first, clock_.Now());
  std::set<absl::Time> written;
  for (int round = 0; round < 36; ++round) {  // three minutes
    Tick();
    written.insert(*hosts_->Get(host_id_)->last_seen);
  }
  // 36 answers, 3 writes: a minute, two and three minutes after the first.
  EXPECT_THAT(written, ElementsAre(first, first + absl::Minutes(1), first + absl::Minutes(2),
                                   first + absl::Minutes(3)));
  // Silent for longer than the grace: unreachable, judged from the answers heard, not from the
  // older last_seen.
  const absl::Time heard = clock_.Now();
  pinger_.up = false;
  absl::Time marked;
  for (int round = 0; round < 10 && marked == absl::Time(); ++round) {
    for (const HostTransition& t : Tick()) {
      if (t.to == "unreachable") marked = clock_.Now();
    }
  }
  ASSERT_NE(marked, absl::Time());
  EXPECT_EQ(marked - heard, absl::Seconds(20));
  // Back: ready, and its last_seen written in that round.
  pinger_.up = true;
  std::vector<HostTransition> back = Tick();
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(back[0].to, "ready");
  EXPECT_EQ(*hosts_->Get(host_id_)->last_seen, clock_.Now());
}

TEST_P(HostMonitorTest, HostsStillEnrollingAreLeftAlone) {
  auto enrolling = hosts_->Create({.name = "h2", .address = "127.0.0.1:2"}, absl::Hours(1));
  pinger_.up = false;
  for (int i = 0; i < 10; ++i) Tick();
  EXPECT_EQ(hosts_->Get(enrolling->first.id)->state, "enrolling");
}

L4D2_INSTANTIATE_BACKEND_TEST(HostMonitorTest);

// An agent that answers GetHostInfo at once.
class AnsweringAgent final : public agent::v1::AgentService::CallbackService {
  grpc::ServerUnaryReactor* GetHostInfo(grpc::CallbackServerContext* context,
                                        const agent::v1::GetHostInfoRequest*,
                                        agent::v1::HostInfo* info) override {
    info->set_installed_build_id("9000001");
    auto* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
};

TEST(AgentPingerTest, SilentHostsCostTheirTimeoutOnceNotEach) {
  AnsweringAgent agent;
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&agent);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  // Silent agents: a listening socket nobody answers on.
  std::vector<int> silent_fds;
  std::vector<Host> hosts;
  for (int i = 0; i < 3; ++i) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof(address);
    ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
    ASSERT_EQ(::listen(fd, 16), 0);
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
    silent_fds.push_back(fd);
    hosts.push_back({.id = absl::StrCat("silent", i),
                     .address = absl::StrCat("127.0.0.1:", ntohs(address.sin_port))});
  }
  hosts.push_back({.id = "live", .address = absl::StrCat("127.0.0.1:", port)});
  PlaintextAgentConnector connector;
  AgentPinger pinger(connector, absl::Seconds(1));
  const absl::Time start = absl::Now();
  std::vector<absl::StatusOr<HostAnswer>> answers = pinger.PingAll(hosts);
  const absl::Duration took = absl::Now() - start;
  ASSERT_EQ(answers.size(), 4u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(answers[i].status().code(), absl::StatusCode::kDeadlineExceeded) << i;
  }
  ASSERT_TRUE(answers[3].ok()) << answers[3].status();
  EXPECT_EQ(answers[3]->info.installed_build_id(), "9000001");
  EXPECT_LT(took, absl::Seconds(2)) << "the silent hosts were waited for one after another";
  for (int fd : silent_fds) ::close(fd);
  server->Shutdown();
}

}  // namespace
}  // namespace l4d2::controller
