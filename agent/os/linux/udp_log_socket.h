#pragma once

#include <memory>
#include <string>

#include "agent/os/log_socket.h"

namespace l4d2::agent {

// LogSocket over a Linux UDP socket bound to ip:port (port 0: any free one), reading up to 128
// packets per system call (recvmmsg; poll only when none is waiting) into buffers one byte longer
// than the longest log packet taken (kMaxGameLogPacket), with a 4 MiB receive buffer for bursts (a
// map change of 50 servers). Packets over the length arrive truncated to it and are refused by the
// decoder.
class UdpLogSocket final : public LogSocket {
 public:
  // INVALID_ARGUMENT for an address that is not IPv4; UNAVAILABLE when it cannot be bound.
  static absl::StatusOr<std::unique_ptr<UdpLogSocket>> Open(const std::string& ip, int port);
  ~UdpLogSocket() override;

  absl::Status Receive(std::vector<LogPacket>& packets, size_t max,
                       absl::Duration timeout) override;
  const std::string& ip() const { return ip_; }
  int port() const { return port_; }

 private:
  UdpLogSocket(int fd, std::string ip, int port) : fd_(fd), ip_(std::move(ip)), port_(port) {}
  const int fd_;
  const std::string ip_;
  const int port_;
};

}  // namespace l4d2::agent
