// The game log listener over a real UDP socket: lines from an instance's game port with its
// secret change its players; a flood of forged, malformed, oversized and stray packets
// changes nothing and costs bounded CPU. (The listener takes loopback packets; only srcds
// refuses to send there, so the agent listens on a host address: docs/architecture.md.)

#include "agent/players/game_log_service.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <random>

#include "absl/strings/str_cat.h"
#include "agent/os/linux/udp_log_socket.h"
#include "gtest/gtest.h"
#include "tests/fakes/fake_clock.h"

namespace l4d2::agent {
namespace {

// A UDP socket on loopback standing for a game server's: its port is the sender's.
class GamePort {
 public:
  GamePort() {
    fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address));
    socklen_t length = sizeof(address);
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
  }
  ~GamePort() { ::close(fd_); }
  int port() const { return port_; }
  void Send(int to, const std::string& packet) const {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(static_cast<uint16_t>(to));
    ::sendto(fd_, packet.data(), packet.size(), 0, reinterpret_cast<sockaddr*>(&address),
             sizeof(address));
  }

 private:
  int fd_ = -1;
  int port_ = 0;
};

const absl::CivilSecond kAt(2026, 12, 3, 21, 15, 0);

class GameLogServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto socket = UdpLogSocket::Open("127.0.0.1", 0);
    ASSERT_TRUE(socket.ok()) << socket.status();
    socket_ = *std::move(socket);
    service_ = std::make_unique<GameLogService>(*socket_, clock_);
    service_->SetSenders({{"vs1", {.port = vs1_.port(), .secret = "48213"}},
                          {"vs2", {.port = vs2_.port(), .secret = "77001"}}});
  }

  // Polls until `lines` more lines were taken, or 2 s.
  void Drain(int64_t lines) {
    const int64_t want = service_->counters().lines + lines;
    for (int i = 0; i < 100 && service_->counters().lines < want; ++i) {
      service_->Poll(absl::Milliseconds(20));
    }
  }

  ::l4d2::testing::FakeClock clock_;
  std::unique_ptr<UdpLogSocket> socket_;
  std::unique_ptr<GameLogService> service_;
  GamePort vs1_, vs2_;
};

TEST_F(GameLogServiceTest, LinesFromAnInstanceWithItsSecretChangeItsPlayers) {
  vs1_.Send(socket_->port(),
            EncodeGameLogPacket(kAt, "Started map \"c2m1_highway\" (CRC \"1\")", "48213"));
  vs1_.Send(socket_->port(),
            EncodeGameLogPacket(kAt, "\"Ellis<2><STEAM_1:0:11101><>\" entered the game", "48213"));
  vs2_.Send(socket_->port(),
            EncodeGameLogPacket(kAt, "\"Nick<3><STEAM_1:0:5><>\" entered the game", "77001"));
  const absl::Time sent = clock_.Now();
  Drain(3);
  std::optional<InstancePlayers> vs1 = service_->Players("vs1");
  ASSERT_TRUE(vs1.has_value());
  ASSERT_EQ(vs1->players.size(), 1u);
  EXPECT_EQ(vs1->players[0].player.name, "Ellis");
  // Joined when the packet was taken (a poll then lets the next ones gather a while).
  EXPECT_GE(vs1->players[0].joined, sent);
  EXPECT_LT(vs1->players[0].joined, clock_.Now());
  EXPECT_EQ(vs1->map, "c2m1_highway");
  ASSERT_EQ(service_->Players("vs2")->players.size(), 1u);
  EXPECT_EQ(service_->EventsAfter("vs1", 0, 10).size(), 2u);  // the map, the join
  // vs2's secret on vs1's port is refused; an instance no longer sending is forgotten.
  vs1_.Send(socket_->port(),
            EncodeGameLogPacket(kAt, "\"Ellis<2><STEAM_1:0:11101><>\" disconnected", "77001"));
  service_->Poll(absl::Milliseconds(200));
  EXPECT_EQ(service_->Players("vs1")->players.size(), 1u);
  EXPECT_EQ(service_->counters().refused, 1);
  service_->SetSenders({{"vs1", {.port = vs1_.port(), .secret = "48213"}}});
  EXPECT_FALSE(service_->Players("vs2").has_value());
  EXPECT_EQ(service_->Players("vs1")->players.size(), 1u);
}

TEST_F(GameLogServiceTest, AFloodOfForgedAndMalformedPacketsChangesNothing) {
  vs1_.Send(socket_->port(),
            EncodeGameLogPacket(kAt, "\"Ellis<2><STEAM_1:0:11101><>\" entered the game", "48213"));
  Drain(1);
  const std::string leave = "\"Ellis<2><STEAM_1:0:11101><>\" disconnected";
  std::mt19937 random(7);
  std::vector<std::string> flood;
  for (int i = 0; i < 500; ++i) {
    flood.push_back(EncodeGameLogPacket(kAt, leave, "48214"));  // another secret
    flood.push_back(EncodeGameLogPacket(kAt, leave, ""));       // none
    std::string packet = EncodeGameLogPacket(kAt, leave, "48213");
    flood.push_back(packet.substr(0, random() % packet.size()));  // truncated
    flood.push_back(std::string(65000, '\xFF'));                  // 64 KB
    std::string binary(200, '\0');
    for (char& c : binary) c = static_cast<char>(random());
    flood.push_back(binary);
    flood.push_back(std::string("\xFF\xFF\xFF\xFFS48213L 99/99/9999 - bad\n", 29) +
                    '\0');  // the secret, but not a log line
  }
  timespec before{}, after{};
  ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &before);
  GamePort stranger;
  size_t sent = 0;
  for (const std::string& packet : flood) {
    vs1_.Send(socket_->port(), packet);
    if (++sent % 20 == 0) stranger.Send(socket_->port(), EncodeGameLogPacket(kAt, leave, "48213"));
    if (sent % 64 == 0) service_->Poll(absl::Milliseconds(0));
  }
  for (int i = 0; i < 20; ++i) service_->Poll(absl::Milliseconds(10));
  ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &after);
  const double cpu_s = (after.tv_sec - before.tv_sec) + (after.tv_nsec - before.tv_nsec) / 1e9;
  const GameLogCounters counters = service_->counters();
  EXPECT_EQ(counters.lines, 1);
  EXPECT_GT(counters.refused + counters.malformed, 2000);  // a few may be lost by the kernel
  EXPECT_GT(counters.unknown_sender, 100);
  ASSERT_EQ(service_->Players("vs1")->players.size(), 1u);
  EXPECT_EQ(service_->EventsAfter("vs1", 0, 10).size(), 1u);
  // Sending and receiving 3,150 packets, the 64 KB ones included, on one core: well under a
  // second (about 0.05 s here).
  EXPECT_LT(cpu_s, 1.0);
  std::cout << flood.size() << " forged or malformed packets: " << cpu_s << " s of CPU\n";
}

TEST_F(GameLogServiceTest, EventsAreReadFromACursorUnderTheInstancesEpoch) {
  const std::optional<v1::GameLogState> fresh = service_->State("vs1");
  ASSERT_TRUE(fresh.has_value());
  EXPECT_EQ(fresh->last_event(), 0);
  EXPECT_NE(fresh->epoch(), service_->State("vs2")->epoch());
  vs1_.Send(socket_->port(),
            EncodeGameLogPacket(kAt, "\"Ellis<2><STEAM_1:0:11101><>\" entered the game", "48213"));
  vs1_.Send(socket_->port(),
            EncodeGameLogPacket(kAt, "\"Nick<3><STEAM_1:0:5><>\" entered the game", "48213"));
  Drain(2);
  const int64_t epoch = fresh->epoch();
  absl::StatusOr<v1::ListPlayerEventsResponse> first = service_->ListEvents("vs1", 0, 0, 1);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_TRUE(first->reset());  // no cursor yet: from the first event
  EXPECT_EQ(first->epoch(), epoch);
  ASSERT_EQ(first->events_size(), 1);
  EXPECT_EQ(first->events(0).kind(), v1::PlayerEvent::KIND_JOINED);
  EXPECT_EQ(first->events(0).player().name(), "Ellis");
  EXPECT_EQ(first->events(0).player().steam_id64(), 76561197960287930u);
  EXPECT_EQ(first->last_event(), 2);
  EXPECT_EQ(first->players_size(), 2);
  absl::StatusOr<v1::ListPlayerEventsResponse> next = service_->ListEvents("vs1", epoch, 1, 10);
  ASSERT_TRUE(next.ok());
  EXPECT_FALSE(next->reset());
  EXPECT_FALSE(next->truncated());
  ASSERT_EQ(next->events_size(), 1);
  EXPECT_EQ(next->events(0).seq(), 2);
  EXPECT_EQ(next->events(0).player().name(), "Nick");
  // The server stopped: both leave, numbered on.
  service_->EndSessions("vs1", "server stopped");
  absl::StatusOr<v1::ListPlayerEventsResponse> ended = service_->ListEvents("vs1", epoch, 2, 10);
  ASSERT_EQ(ended->events_size(), 2);
  EXPECT_EQ(ended->events(0).kind(), v1::PlayerEvent::KIND_LEFT);
  EXPECT_EQ(ended->events(1).text(), "server stopped");
  EXPECT_EQ(ended->players_size(), 0);
  EXPECT_EQ(service_->State("vs1")->players(), 0);
  // An instance made again gets a new epoch: a cursor of the old one is reset.
  service_->SetSenders({{"vs2", {.port = vs2_.port(), .secret = "77001"}}});
  service_->SetSenders({{"vs1", {.port = vs1_.port(), .secret = "48213"}}});
  absl::StatusOr<v1::ListPlayerEventsResponse> again = service_->ListEvents("vs1", epoch, 4, 10);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->reset());
  EXPECT_GT(again->epoch(), epoch);
  EXPECT_EQ(again->events_size(), 0);
  EXPECT_TRUE(absl::IsNotFound(service_->ListEvents("vs2", 0, 0, 10).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(service_->ListEvents("vs1", 0, 0, 1001).status()));
}

TEST_F(GameLogServiceTest, PacketsFromAnotherHostsAddressAreRefused) {
  // With the allowed sources set, a packet from the game port with the secret but from an
  // address that is not this host's changes nothing (the kernel drops packets from outside
  // claiming a local source, so the address cannot be forged).
  service_->AllowSources({0xC0000202});  // 192.0.2.2
  const std::string join =
      EncodeGameLogPacket(kAt, "\"Ellis<2><STEAM_1:0:11101><>\" entered the game", "48213");
  service_->Apply({.data = join, .source_ip = 0xC6336401, .source_port = vs1_.port()},
                  clock_.Now());  // 198.51.100.1
  EXPECT_EQ(service_->State("vs1")->players(), 0);
  EXPECT_EQ(service_->counters().unknown_sender, 1);
  service_->Apply({.data = join, .source_ip = 0xC0000202, .source_port = vs1_.port()},
                  clock_.Now());
  EXPECT_EQ(service_->State("vs1")->players(), 1);
  service_->Apply({.data = join, .source_ip = 0x7F000001, .source_port = vs2_.port()},
                  clock_.Now());               // loopback is this host
  EXPECT_EQ(service_->counters().refused, 1);  // vs1's secret on vs2's port
}

}  // namespace
}  // namespace l4d2::agent
