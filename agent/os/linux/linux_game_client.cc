#include "agent/os/linux/linux_game_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "agent/game/rcon.h"
#include "common/clock.h"
#include "common/status_macros.h"

namespace l4d2::agent {
namespace {

class Socket {
 public:
  explicit Socket(int fd) : fd_(fd) {}
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;
  ~Socket() {
    if (fd_ >= 0) ::close(fd_);
  }
  int fd() const { return fd_; }

 private:
  int fd_;
};

std::string Describe(const GameAddress& address) {
  return absl::StrCat(address.host, ":", address.port);
}

absl::StatusOr<sockaddr_in> ToSockaddr(const GameAddress& address) {
  sockaddr_in out{};
  out.sin_family = AF_INET;
  out.sin_port = htons(static_cast<uint16_t>(address.port));
  if (address.port <= 0 || address.port > 65535 ||
      ::inet_pton(AF_INET, address.host.c_str(), &out.sin_addr) != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("game address '", Describe(address), "' is not IPv4 host:port"));
  }
  return out;
}

// Waits for `events` on `fd` until `deadline`. UNAVAILABLE on timeout.
absl::Status WaitFor(int fd, short events, absl::Time deadline, const GameAddress& address,
                     absl::string_view what) {
  while (true) {
    int64_t ms = absl::ToInt64Milliseconds(RealTimeLeft(deadline));
    if (ms <= 0) {
      return absl::UnavailableError(absl::StrCat(what, " of '", Describe(address), "' timed out"));
    }
    pollfd p{fd, events, 0};
    int n = ::poll(&p, 1, static_cast<int>(ms));
    if (n > 0) return absl::OkStatus();
    if (n < 0 && errno != EINTR) {
      return absl::UnavailableError(absl::StrCat("poll: ", std::strerror(errno)));
    }
  }
}

// Sends `request` and returns the next whole reply, reassembling split replies.
absl::StatusOr<A2sReply> A2sExchange(int fd, const std::string& request, absl::Time deadline,
                                     const GameAddress& address) {
  if (::send(fd, request.data(), request.size(), 0) < 0) {
    return absl::UnavailableError(
        absl::StrCat("a2s: send to '", Describe(address), "': ", std::strerror(errno)));
  }
  std::map<uint8_t, std::string> parts;
  char buffer[65536];
  while (true) {
    L4D2_RETURN_IF_ERROR(WaitFor(fd, POLLIN, deadline, address, "a2s query"));
    ssize_t n = ::recv(fd, buffer, sizeof(buffer), 0);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      // ECONNREFUSED: nothing listens on the port (ICMP port unreachable).
      return absl::UnavailableError(
          absl::StrCat("a2s: '", Describe(address), "': ", std::strerror(errno)));
    }
    absl::string_view packet(buffer, static_cast<size_t>(n));
    if (!IsA2sSplitPacket(packet)) {
      absl::StatusOr<A2sReply> reply = ParseA2sReply(packet);
      if (!reply.ok()) return absl::InternalError(reply.status().message());
      return reply;
    }
    absl::StatusOr<A2sSplitPart> part = ParseA2sSplitPart(packet);
    if (!part.ok()) return absl::InternalError(part.status().message());
    parts[part->number] = std::move(part->payload);
    if (parts.size() == part->total) {
      std::string whole;
      for (const auto& [number, payload] : parts) whole += payload;
      absl::StatusOr<A2sReply> reply = ParseA2sReply(whole);
      if (!reply.ok()) return absl::InternalError(reply.status().message());
      return reply;
    }
  }
}

// Runs one A2S request kind with the challenge handshake; returns the final reply.
absl::StatusOr<A2sReply> A2sQuery(const GameAddress& address, absl::Duration timeout,
                                  bool players) {
  L4D2_ASSIGN_OR_RETURN(sockaddr_in target, ToSockaddr(address));
  Socket socket(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (socket.fd() < 0) return absl::UnavailableError("a2s: cannot create a UDP socket");
  // A connected UDP socket receives only this server's packets and reports ICMP errors.
  if (::connect(socket.fd(), reinterpret_cast<sockaddr*>(&target), sizeof(target)) != 0) {
    return absl::UnavailableError(
        absl::StrCat("a2s: connect to '", Describe(address), "': ", std::strerror(errno)));
  }
  const absl::Time deadline = RealDeadline(timeout);
  std::string request =
      players ? BuildA2sPlayerRequest(kA2sNoChallenge) : BuildA2sInfoRequest(std::nullopt);
  // The server answers with a challenge first; a second challenge is tolerated once (it may
  // rotate between the two requests).
  for (int round = 0; round < 3; ++round) {
    L4D2_ASSIGN_OR_RETURN(A2sReply reply, A2sExchange(socket.fd(), request, deadline, address));
    if (reply.kind != A2sReply::Kind::kChallenge) {
      A2sReply::Kind wanted = players ? A2sReply::Kind::kPlayers : A2sReply::Kind::kInfo;
      if (reply.kind != wanted) {
        return absl::InternalError(
            absl::StrCat("a2s: '", Describe(address), "' answered with the wrong reply type"));
      }
      return reply;
    }
    request =
        players ? BuildA2sPlayerRequest(reply.challenge) : BuildA2sInfoRequest(reply.challenge);
  }
  return absl::UnavailableError(
      absl::StrCat("a2s: '", Describe(address), "' kept answering with challenges"));
}

class RconConnection {
 public:
  RconConnection(const GameAddress& address, absl::Time deadline)
      : address_(address), deadline_(deadline) {}

  absl::Status Connect() {
    L4D2_ASSIGN_OR_RETURN(sockaddr_in target, ToSockaddr(address_));
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd_ < 0) return absl::UnavailableError("rcon: cannot create a TCP socket");
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&target), sizeof(target)) != 0 &&
        errno != EINPROGRESS) {
      return ConnectError(errno);
    }
    L4D2_RETURN_IF_ERROR(WaitFor(fd_, POLLOUT, deadline_, address_, "rcon connect"));
    int error = 0;
    socklen_t length = sizeof(error);
    ::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &error, &length);
    if (error != 0) return ConnectError(error);
    return absl::OkStatus();
  }

  ~RconConnection() {
    if (fd_ >= 0) ::close(fd_);
  }

  absl::Status Send(int32_t id, int32_t type, const std::string& body) {
    L4D2_ASSIGN_OR_RETURN(std::string bytes, EncodeRconPacket({id, type, body}));
    absl::string_view rest(bytes);
    while (!rest.empty()) {
      ssize_t n = ::send(fd_, rest.data(), rest.size(), MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EAGAIN || errno == EINTR) {
          L4D2_RETURN_IF_ERROR(WaitFor(fd_, POLLOUT, deadline_, address_, "rcon send"));
          continue;
        }
        return absl::UnavailableError(
            absl::StrCat("rcon: send to '", Describe(address_), "': ", std::strerror(errno)));
      }
      rest.remove_prefix(static_cast<size_t>(n));
    }
    return absl::OkStatus();
  }

  absl::StatusOr<RconPacket> Receive() {
    while (true) {
      absl::StatusOr<std::optional<RconPacket>> next = decoder_.Next();
      if (!next.ok()) return absl::InternalError(next.status().message());
      if (next->has_value()) return **next;
      L4D2_RETURN_IF_ERROR(WaitFor(fd_, POLLIN, deadline_, address_, "rcon reply"));
      char buffer[16384];
      ssize_t n = ::recv(fd_, buffer, sizeof(buffer), 0);
      if (n == 0) {
        return absl::UnavailableError(
            absl::StrCat("rcon: '", Describe(address_), "' closed the connection"));
      }
      if (n < 0) {
        if (errno == EAGAIN || errno == EINTR) continue;
        return absl::UnavailableError(
            absl::StrCat("rcon: receive from '", Describe(address_), "': ", std::strerror(errno)));
      }
      decoder_.Append(absl::string_view(buffer, static_cast<size_t>(n)));
    }
  }

 private:
  absl::Status ConnectError(int error) {
    return absl::UnavailableError(
        absl::StrCat("rcon: connect to '", Describe(address_), "': ", std::strerror(error)));
  }

  GameAddress address_;
  absl::Time deadline_;
  int fd_ = -1;
  RconDecoder decoder_;
};

}  // namespace

absl::StatusOr<A2sInfo> LinuxGameClient::QueryInfo(const GameAddress& address,
                                                   absl::Duration timeout) {
  L4D2_ASSIGN_OR_RETURN(A2sReply reply, A2sQuery(address, timeout, /*players=*/false));
  return reply.info;
}

absl::StatusOr<std::vector<A2sPlayer>> LinuxGameClient::QueryPlayers(const GameAddress& address,
                                                                     absl::Duration timeout) {
  L4D2_ASSIGN_OR_RETURN(A2sReply reply, A2sQuery(address, timeout, /*players=*/true));
  return reply.players;
}

absl::StatusOr<std::string> LinuxGameClient::RconExecute(const GameAddress& address,
                                                         const std::string& password,
                                                         const std::string& command,
                                                         absl::Duration timeout) {
  RconConnection connection(address, RealDeadline(timeout));
  L4D2_RETURN_IF_ERROR(connection.Connect());

  constexpr int32_t kAuthId = 1;
  L4D2_RETURN_IF_ERROR(connection.Send(kAuthId, kRconAuth, password));
  while (true) {
    // The server first sends an empty RESPONSE_VALUE, then the AUTH_RESPONSE.
    L4D2_ASSIGN_OR_RETURN(RconPacket packet, connection.Receive());
    if (packet.type != kRconAuthResponse) continue;
    if (packet.id == -1) {
      return absl::PermissionDeniedError(
          absl::StrCat("rcon: '", Describe(address), "' refused the password"));
    }
    if (packet.id != kAuthId) {
      return absl::InternalError("rcon: authentication reply with an unexpected id");
    }
    break;
  }

  constexpr int32_t kCommandId = 2;
  constexpr int32_t kTerminatorId = 3;
  L4D2_RETURN_IF_ERROR(connection.Send(kCommandId, kRconExecCommand, command));
  // Output may span several packets; the server answers packets in order, so the mirror of
  // this empty RESPONSE_VALUE marks the end of the command's output.
  L4D2_RETURN_IF_ERROR(connection.Send(kTerminatorId, kRconResponseValue, ""));
  std::string output;
  while (true) {
    L4D2_ASSIGN_OR_RETURN(RconPacket packet, connection.Receive());
    if (packet.id == kTerminatorId) return output;
    if (packet.id == kCommandId && packet.type == kRconResponseValue) output += packet.body;
  }
}

}  // namespace l4d2::agent
