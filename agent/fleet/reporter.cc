#include "agent/fleet/reporter.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/clock.h"
#include "common/datagram.h"
#include "common/host_port.h"
#include "common/logging.h"
#include "rpc/host_report.h"

namespace l4d2::agent {

absl::StatusOr<std::unique_ptr<HostReporter>> HostReporter::Start(ReporterOptions options,
                                                                  tls::Signer signer,
                                                                  ReportSources sources,
                                                                  Clock& clock) {
  if (options.host_id.empty()) return absl::InvalidArgumentError("reports: no host id");
  if (options.targets.empty()) return absl::InvalidArgumentError("reports: no controller");
  for (const std::string& target : options.targets) {
    // Only the form: names are resolved at each report (one may not resolve yet).
    if (!SplitHostPort(target).has_value()) {
      return absl::InvalidArgumentError(absl::StrCat("reports: '", target, "' is not host:port"));
    }
  }
  std::unique_ptr<HostReporter> reporter(
      new HostReporter(std::move(options), std::move(signer), std::move(sources), clock));
  reporter->thread_ = std::thread([raw = reporter.get()] { raw->Run(); });
  return reporter;
}

HostReporter::~HostReporter() {
  {
    absl::MutexLock lock(&mutex_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

void HostReporter::Nudge() {
  absl::MutexLock lock(&mutex_);
  nudged_ = true;
}

absl::StatusOr<std::string> HostReporter::Datagram() {
  v1::HostReport report;
  report.set_host_id(options_.host_id);
  absl::StatusOr<v1::HostInfo> info = sources_.host_info();
  if (!info.ok()) return info.status();
  *report.mutable_info() = *std::move(info);
  absl::StatusOr<v1::ListInstancesResponse> instances = sources_.instances();
  if (!instances.ok()) return instances.status();
  // Names, ports, builds and statuses: what the controller observes (the rest of the specs
  // stays on the host; the port names what an unmanaged instance holds).
  for (v1::Instance& instance : *instances->mutable_instances()) {
    v1::Instance* reported = report.add_instances();
    reported->set_name(instance.name());
    reported->mutable_spec()->set_port(instance.spec().port());
    reported->set_build_id(instance.build_id());
    reported->mutable_status()->Swap(instance.mutable_status());
  }
  const int64_t now = absl::ToUnixNanos(clock_.Now());
  int64_t last = last_sent_nanos_.load();
  int64_t sent = 0;
  do {
    sent = std::max(now, last + 1);
  } while (!last_sent_nanos_.compare_exchange_weak(last, sent));
  report.set_sent_unix_nanos(sent);
  v1::SignedHostReport signed_report;
  auto sign = [&]() -> absl::StatusOr<std::string> {
    signed_report.set_report(report.SerializeAsString());
    absl::StatusOr<std::string> signature =
        signer_.Sign(kHostReportContext, signed_report.report());
    if (!signature.ok()) return signature.status();
    signed_report.set_signature(*std::move(signature));
    return signed_report.SerializeAsString();
  };
  absl::StatusOr<std::string> datagram = sign();
  if (datagram.ok() && datagram->size() > kMaxHostReportDatagram) {
    report.clear_instances();
    report.set_instances_omitted(true);
    datagram = sign();
  }
  return datagram;
}

absl::StatusOr<const DatagramSocket*> HostReporter::SocketFor(int family) {
  std::optional<DatagramSocket>& socket = family == AF_INET6 ? socket_v6_ : socket_v4_;
  if (!socket.has_value()) {
    absl::StatusOr<DatagramSocket> opened = DatagramSocket::Open(family);
    if (!opened.ok()) return opened.status();
    socket = *std::move(opened);
  }
  return &*socket;
}

void HostReporter::SendOnce() {
  absl::StatusOr<std::string> datagram = Datagram();
  if (!datagram.ok()) {
    L4D2_LOG(WARNING) << "host report: " << datagram.status().message();
    return;
  }
  for (const std::string& target : options_.targets) {
    // Resolved at every report (a controller may move); a name with several addresses, one
    // per controller, reaches each of them.
    absl::StatusOr<std::vector<DatagramAddress>> addresses = ResolveDatagramAddresses(target);
    if (!addresses.ok()) {
      L4D2_LOG(WARNING) << "host report to " << target << ": " << addresses.status().message();
      continue;
    }
    for (const DatagramAddress& address : *addresses) {
      absl::StatusOr<const DatagramSocket*> socket = SocketFor(address.storage.ss_family);
      absl::Status sent = socket.ok() ? (*socket)->SendTo(address, *datagram) : socket.status();
      if (!sent.ok()) L4D2_LOG(WARNING) << "host report to " << target << ": " << sent.message();
    }
  }
}

void HostReporter::Run() {
  // Scheduled in real time (absl::Mutex waits on it); `clock_` only stamps the reports.
  absl::Time next = RealDeadline(absl::ZeroDuration());
  absl::Time earliest = absl::InfinitePast();
  int settling = 0;  // reports left at settle_gap
  absl::MutexLock lock(&mutex_);
  while (true) {
    mutex_.AwaitWithDeadline(absl::Condition(
                                 +[](HostReporter* self) ABSL_EXCLUSIVE_LOCKS_REQUIRED(
                                      self->mutex_) { return self->stopping_ || self->nudged_; },
                                 this),
                             next);
    // A nudge waits out min_gap since the last report: a burst of changes makes one report.
    if (stopping_ || mutex_.AwaitWithDeadline(absl::Condition(&stopping_), earliest)) return;
    if (nudged_) settling = options_.settle_reports;
    nudged_ = false;
    mutex_.Unlock();
    SendOnce();
    mutex_.Lock();
    earliest = RealDeadline(options_.min_gap);
    if (settling > 0) {
      --settling;
      next = RealDeadline(options_.settle_gap);
    } else {
      next = RealDeadline(options_.interval);
    }
  }
}

}  // namespace l4d2::agent
