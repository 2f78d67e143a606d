#include "common/datagram.h"

#include <netdb.h>
#include <netinet/in.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/host_port.h"

namespace l4d2 {
namespace {

absl::Status Errno(absl::string_view what) {
  return absl::UnavailableError(absl::StrCat(what, ": ", std::strerror(errno)));
}

}  // namespace

absl::StatusOr<std::vector<DatagramAddress>> ResolveDatagramAddresses(
    const std::string& host_port) {
  const std::optional<HostPort> address = SplitHostPort(host_port);
  if (!address.has_value()) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", host_port, "' is not host:port (a port from 0 to 65535)"));
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_DGRAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const std::string service = absl::StrCat(address->port);
  if (const int error = getaddrinfo(address->host.c_str(), service.c_str(), &hints, &found);
      error != 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot resolve '", address->host, "': ", gai_strerror(error)));
  }
  std::vector<DatagramAddress> addresses;
  for (const addrinfo* each = found; each != nullptr; each = each->ai_next) {
    DatagramAddress& resolved = addresses.emplace_back();
    std::memcpy(&resolved.storage, each->ai_addr, each->ai_addrlen);
    resolved.length = each->ai_addrlen;
    resolved.text = host_port;
  }
  freeaddrinfo(found);
  return addresses;
}

absl::StatusOr<DatagramAddress> ResolveDatagramAddress(const std::string& host_port) {
  absl::StatusOr<std::vector<DatagramAddress>> addresses = ResolveDatagramAddresses(host_port);
  if (!addresses.ok()) return addresses.status();
  if (addresses->empty()) {
    return absl::UnavailableError(absl::StrCat("'", host_port, "' resolves to nothing"));
  }
  return addresses->front();
}

absl::StatusOr<DatagramSocket> DatagramSocket::Bind(const std::string& host_port) {
  absl::StatusOr<DatagramAddress> address = ResolveDatagramAddress(host_port);
  if (!address.ok()) return address.status();
  absl::StatusOr<DatagramSocket> socket = Open(address->storage.ss_family);
  if (!socket.ok()) return socket.status();
  if (bind(socket->fd_, reinterpret_cast<const sockaddr*>(&address->storage), address->length) !=
      0) {
    return Errno(absl::StrCat("cannot bind UDP ", host_port));
  }
  return socket;
}

absl::StatusOr<DatagramSocket> DatagramSocket::Open(int family) {
  const int fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Errno("cannot open a UDP socket");
  return DatagramSocket(fd);
}

DatagramSocket& DatagramSocket::operator=(DatagramSocket&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) close(fd_);
    fd_ = other.fd_;
    other.fd_ = -1;
  }
  return *this;
}

DatagramSocket::~DatagramSocket() {
  if (fd_ >= 0) close(fd_);
}

int DatagramSocket::port() const {
  sockaddr_storage bound{};
  socklen_t length = sizeof(bound);
  if (getsockname(fd_, reinterpret_cast<sockaddr*>(&bound), &length) != 0) return 0;
  if (bound.ss_family == AF_INET6) {
    return ntohs(reinterpret_cast<const sockaddr_in6*>(&bound)->sin6_port);
  }
  return ntohs(reinterpret_cast<const sockaddr_in*>(&bound)->sin_port);
}

absl::Status DatagramSocket::SendTo(const DatagramAddress& to, absl::string_view bytes) const {
  if (sendto(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL,
             reinterpret_cast<const sockaddr*>(&to.storage), to.length) < 0) {
    return Errno(absl::StrCat("cannot send to ", to.text));
  }
  return absl::OkStatus();
}

}  // namespace l4d2
