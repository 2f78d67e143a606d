#pragma once

// OS capability: talking to a running game server over the network, A2S over UDP and RCON over
// TCP. The Linux implementation uses sockets with deadlines; tests of the logic use a fake.
//
// Errors: UNAVAILABLE when the server does not answer in time or cannot be reached,
// PERMISSION_DENIED for a wrong RCON password (callers must not retry it: the game bans
// addresses after repeated failures), INTERNAL for a reply that breaks the protocol.
// Implementations are thread-safe; every call uses its own socket.

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "agent/game/a2s.h"

namespace l4d2::agent {

struct GameAddress {
  // A numeric IPv4 address, e.g. "127.0.0.1".
  std::string host;
  int port = 0;
};

class GameClient {
 public:
  virtual ~GameClient() = default;

  virtual absl::StatusOr<A2sInfo> QueryInfo(const GameAddress& address, absl::Duration timeout) = 0;
  virtual absl::StatusOr<std::vector<A2sPlayer>> QueryPlayers(const GameAddress& address,
                                                              absl::Duration timeout) = 0;
  // Connects, authenticates with `password` and runs one command line; returns its output.
  virtual absl::StatusOr<std::string> RconExecute(const GameAddress& address,
                                                  const std::string& password,
                                                  const std::string& command,
                                                  absl::Duration timeout) = 0;
};

}  // namespace l4d2::agent
