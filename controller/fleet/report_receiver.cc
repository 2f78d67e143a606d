#include "controller/fleet/report_receiver.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/clock.h"
#include "common/logging.h"

namespace l4d2::controller {
namespace {

constexpr int kBatch = 64;

}  // namespace

absl::StatusOr<std::unique_ptr<ReportReceiver>> ReportReceiver::Start(const std::string& address,
                                                                      HostReportBook& book) {
  absl::StatusOr<DatagramSocket> socket = DatagramSocket::Bind(address);
  if (!socket.ok()) return socket.status();
  // Room for a fleet's reports arriving at once (after a network outage): 8 MB if allowed
  // (CAP_NET_ADMIN), else as much as net.core.rmem_max lets.
  const int buffer = 8 << 20;
  if (setsockopt(socket->fd(), SOL_SOCKET, SO_RCVBUFFORCE, &buffer, sizeof(buffer)) != 0) {
    (void)setsockopt(socket->fd(), SOL_SOCKET, SO_RCVBUF, &buffer, sizeof(buffer));
  }
  const int wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake < 0) return absl::InternalError("reports: cannot make an eventfd");
  std::unique_ptr<ReportReceiver> receiver(new ReportReceiver(*std::move(socket), wake, book));
  receiver->thread_ = std::thread([raw = receiver.get()] { raw->Run(); });
  return receiver;
}

ReportReceiver::ReportReceiver(DatagramSocket socket, int wake_fd, HostReportBook& book)
    : socket_(std::move(socket)), wake_fd_(wake_fd), book_(book) {}

ReportReceiver::~ReportReceiver() {
  const uint64_t one = 1;
  (void)!write(wake_fd_, &one, sizeof(one));
  if (thread_.joinable()) thread_.join();
  close(wake_fd_);
}

void ReportReceiver::Run() {
  std::vector<std::array<char, kMaxHostReportDatagram>> buffers(kBatch);
  std::array<iovec, kBatch> vectors{};
  std::array<mmsghdr, kBatch> messages{};
  for (int i = 0; i < kBatch; ++i) {
    vectors[i] = {buffers[i].data(), buffers[i].size()};
    messages[i].msg_hdr.msg_iov = &vectors[i];
    messages[i].msg_hdr.msg_iovlen = 1;
  }
  std::array<pollfd, 2> fds{pollfd{socket_.fd(), POLLIN, 0}, pollfd{wake_fd_, POLLIN, 0}};
  absl::Time next_log = absl::InfinitePast();
  int64_t unlogged = 0;
  while (true) {
    if (poll(fds.data(), fds.size(), -1) < 0 && errno != EINTR) break;
    if (fds[1].revents != 0) break;
    const int received = recvmmsg(socket_.fd(), messages.data(), kBatch, MSG_DONTWAIT, nullptr);
    for (int i = 0; i < received; ++i) {
      absl::Status accepted =
          book_.Accept(absl::string_view(buffers[i].data(), messages[i].msg_len));
      // A refusal says what is wrong (a host's clock, a certificate); a flood of them is
      // logged once every 10 s.
      if (accepted.ok() || absl::IsAlreadyExists(accepted)) continue;  // Copies are harmless.
      if (const absl::Time now = Clock::Real().Now(); now >= next_log) {
        L4D2_LOG(WARNING) << "host report refused: " << accepted.message()
                          << (unlogged > 0 ? absl::StrCat(" (and ", unlogged, " more)") : "");
        next_log = now + absl::Seconds(10);
        unlogged = 0;
      } else {
        ++unlogged;
      }
    }
  }
}

}  // namespace l4d2::controller
