#pragma once

// The reply of the game's `status` console command, parsed:
//
//   hostname: versus #1
//   version : 2.2.3.9 8829 secure
//   udp/ip  : 10.0.0.5:27015 [ public n/a ]
//   map     : c2m1_highway at: 0 x, 0 y, 0 z
//   players : 2 humans, 1 bots (8 max) (not hibernating)
//
//   # userid name uniqueid connected ping loss state rate adr
//   #  2 1 "Ellis" STEAM_1:0:11101 05:11 45 0 active 30000 203.0.113.7:27005
//   #  1 "Coach" BOT active
//   #end
//
// Pure parsing of untrusted text; names may hold anything, quotes included.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/time/time.h"

namespace l4d2::agent {

struct RconStatusPlayer {
  int32_t user_id = 0;
  std::string name;
  std::string steam_id;      // as printed: STEAM_1:0:123, [U:1:246]; "BOT" for bots
  absl::Duration connected;  // how long ago they connected
  int ping_ms = 0;
  bool bot = false;
};

struct RconStatus {
  std::string map;
  std::vector<RconStatusPlayer> players;  // humans and bots, as listed
};

// Lines it does not understand are skipped: a reply is parsed as far as it goes.
RconStatus ParseRconStatus(const std::string& reply);

}  // namespace l4d2::agent
