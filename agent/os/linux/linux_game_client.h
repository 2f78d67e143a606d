#pragma once

#include "agent/os/game_client.h"

namespace l4d2::agent {

// GameClient over Linux sockets: one UDP socket per query (challenge handshake, split replies
// reassembled), one TCP connection per RCON command (auth, command, then an empty
// RESPONSE_VALUE whose echo marks the end of multi-packet output).
class LinuxGameClient final : public GameClient {
 public:
  absl::StatusOr<A2sInfo> QueryInfo(const GameAddress& address, absl::Duration timeout) override;
  absl::StatusOr<std::vector<A2sPlayer>> QueryPlayers(const GameAddress& address,
                                                      absl::Duration timeout) override;
  absl::StatusOr<std::string> RconExecute(const GameAddress& address, const std::string& password,
                                          const std::string& command,
                                          absl::Duration timeout) override;
};

}  // namespace l4d2::agent
