#pragma once

// Receives host reports (host_reports.h) on a UDP socket and hands every datagram to the book,
// on a thread of its own, in batches of up to 64 per system call.

#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "common/datagram.h"
#include "controller/fleet/host_reports.h"

namespace l4d2::controller {

class ReportReceiver {
 public:
  // Bound to `address` ("0.0.0.0:8444"; port 0 picks one); `book` must outlive the receiver.
  static absl::StatusOr<std::unique_ptr<ReportReceiver>> Start(const std::string& address,
                                                               HostReportBook& book);
  // Stops receiving.
  ~ReportReceiver();

  int port() const { return socket_.port(); }

 private:
  ReportReceiver(DatagramSocket socket, int wake_fd, HostReportBook& book);
  void Run();

  DatagramSocket socket_;
  const int wake_fd_;  // an eventfd: written to stop
  HostReportBook& book_;
  std::thread thread_;
};

}  // namespace l4d2::controller
