#pragma once

// UDP endpoints named "host:port" ("[v6]:port"; a name is resolved once, when opened): a
// socket bound to receive on one, and one that sends to several. For host reports
// (agent/fleet/reporter.h, controller/fleet/report_receiver.h).

#include <sys/socket.h>

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace l4d2 {

struct DatagramAddress {
  sockaddr_storage storage{};
  socklen_t length = 0;
  std::string text;  // as given
};

// Every address `host_port` names (a name may resolve to several, e.g. one per controller), in
// the resolver's order. INVALID_ARGUMENT for a malformed address or port; UNAVAILABLE when a
// name does not resolve.
absl::StatusOr<std::vector<DatagramAddress>> ResolveDatagramAddresses(const std::string& host_port);
// The first of them.
absl::StatusOr<DatagramAddress> ResolveDatagramAddress(const std::string& host_port);

// Owns a UDP socket.
class DatagramSocket {
 public:
  // Bound to `host_port` (port 0: any free one) to receive.
  static absl::StatusOr<DatagramSocket> Bind(const std::string& host_port);
  // Unbound, to send to any of `family` (AF_INET or AF_INET6).
  static absl::StatusOr<DatagramSocket> Open(int family);

  DatagramSocket(DatagramSocket&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  DatagramSocket& operator=(DatagramSocket&& other) noexcept;
  ~DatagramSocket();

  int fd() const { return fd_; }
  // The port bound (Bind).
  int port() const;
  absl::Status SendTo(const DatagramAddress& to, absl::string_view bytes) const;

 private:
  explicit DatagramSocket(int fd) : fd_(fd) {}
  int fd_ = -1;
};

}  // namespace l4d2
