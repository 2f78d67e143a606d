#include "agent/os/linux/udp_log_socket.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "agent/game/game_log.h"

namespace l4d2::agent {
namespace {

constexpr size_t kBatch = 128;
constexpr size_t kBuffer = kMaxGameLogPacket + 1;  // one over: a longer packet shows

}  // namespace

absl::StatusOr<std::unique_ptr<UdpLogSocket>> UdpLogSocket::Open(const std::string& ip, int port) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  if (port < 0 || port > 65535 || ::inet_pton(AF_INET, ip.c_str(), &address.sin_addr) != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("game log listener: '", ip, ":", port, "' is not an IPv4 address and port"));
  }
  const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return absl::UnavailableError(absl::StrCat("socket: ", std::strerror(errno)));
  const int buffer = 4 << 20;
  (void)::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buffer, sizeof(buffer));
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) != 0) {
    const int error = errno;
    ::close(fd);
    return absl::UnavailableError(
        absl::StrCat("game log listener: bind ", ip, ":", port, ": ", std::strerror(error)));
  }
  socklen_t length = sizeof(address);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  return std::unique_ptr<UdpLogSocket>(new UdpLogSocket(fd, ip, ntohs(address.sin_port)));
}

UdpLogSocket::~UdpLogSocket() { ::close(fd_); }

absl::Status UdpLogSocket::Receive(std::vector<LogPacket>& packets, size_t max,
                                   absl::Duration timeout) {
  size_t count = 0;
  bool waited = false;
  static thread_local char buffers[kBatch][kBuffer];
  while (count < max) {
    mmsghdr messages[kBatch]{};
    iovec vectors[kBatch];
    sockaddr_in senders[kBatch];
    const size_t want = std::min(kBatch, max - count);
    for (size_t i = 0; i < want; ++i) {
      vectors[i] = {buffers[i], kBuffer};
      messages[i].msg_hdr.msg_iov = &vectors[i];
      messages[i].msg_hdr.msg_iovlen = 1;
      messages[i].msg_hdr.msg_name = &senders[i];
      messages[i].msg_hdr.msg_namelen = sizeof(senders[i]);
    }
    const int received = ::recvmmsg(fd_, messages, want, MSG_DONTWAIT, nullptr);
    if (received < 0) {
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        return absl::UnavailableError(
            absl::StrCat("game log listener: recvmmsg: ", std::strerror(errno)));
      }
      // Nothing waiting: wait once for the first packets, then return what came.
      if (count > 0 || waited) break;
      waited = true;
      pollfd waiting{fd_, POLLIN, 0};
      const int ready = ::poll(&waiting, 1, static_cast<int>(absl::ToInt64Milliseconds(timeout)));
      if (ready < 0 && errno != EINTR) {
        return absl::UnavailableError(
            absl::StrCat("game log listener: poll: ", std::strerror(errno)));
      }
      if (ready <= 0) break;
      continue;
    }
    for (int i = 0; i < received; ++i, ++count) {
      if (packets.size() <= count) packets.emplace_back();
      LogPacket& packet = packets[count];
      packet.data.assign(buffers[i], std::min<size_t>(messages[i].msg_len, kBuffer));
      packet.source_ip = ntohl(senders[i].sin_addr.s_addr);
      packet.source_port = ntohs(senders[i].sin_port);
    }
    if (static_cast<size_t>(received) < want) break;
  }
  packets.resize(count);
  return absl::OkStatus();
}

}  // namespace l4d2::agent
