#pragma once

// OS capability: the UDP socket the game servers send their log lines to (`logaddress_add`,
// agent/game/game_log.h). Anyone who can reach it can send it anything: what it returns is
// untrusted bytes with the sender's address. The Linux implementation reads batches with
// recvmmsg; tests of the logic use a fake.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace l4d2::agent {

struct LogPacket {
  std::string data;        // a packet longer than the socket takes comes truncated, one byte over
  uint32_t source_ip = 0;  // IPv4, host byte order
  int source_port = 0;
};

class LogSocket {
 public:
  virtual ~LogSocket() = default;
  // Waits up to `timeout` for packets and puts those that arrived in `packets` (replacing what
  // it held, reusing its strings: a busy listener allocates nothing per packet), at most
  // `max`; none after the timeout. UNAVAILABLE when the socket fails.
  virtual absl::Status Receive(std::vector<LogPacket>& packets, size_t max,
                               absl::Duration timeout) = 0;
};

}  // namespace l4d2::agent
