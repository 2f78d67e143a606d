#pragma once

// A game that answers A2S at once (a map, 8 slots; one player, Zoey) unless told to be silent,
// and RCON with nothing: for the instance manager's tests.

#include <set>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "agent/os/game_client.h"

namespace l4d2::testing {

class FakeGameClient final : public agent::GameClient {
 public:
  bool answers = true;
  // Servers on these ports do not answer yet: a query waits its whole timeout (real time).
  std::set<int> silent_ports;
  absl::StatusOr<agent::A2sInfo> QueryInfo(const agent::GameAddress& address,
                                           absl::Duration timeout) override {
    if (silent_ports.count(address.port) > 0) {
      absl::SleepFor(timeout);
      return absl::DeadlineExceededError("timed out");
    }
    if (!answers) return absl::UnavailableError("timed out");
    agent::A2sInfo info;
    info.name = "port " + std::to_string(address.port);
    info.map = "c1m1_hotel";
    info.max_players = 8;
    return info;
  }
  absl::StatusOr<std::vector<agent::A2sPlayer>> QueryPlayers(const agent::GameAddress&,
                                                             absl::Duration) override {
    return std::vector<agent::A2sPlayer>{{"Zoey", 3, 61.0f}};
  }
  absl::StatusOr<std::string> RconExecute(const agent::GameAddress&, const std::string&,
                                          const std::string&, absl::Duration) override {
    return std::string();
  }
};

}  // namespace l4d2::testing
