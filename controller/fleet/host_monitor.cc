#include "controller/fleet/host_monitor.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/logging.h"
#include "grpcpp/client_context.h"

namespace l4d2::controller {

absl::StatusOr<agent::v1::HostInfo> AgentPinger::Ping(const Host& host) {
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + timeout_));
  agent::v1::HostInfo info;
  grpc::Status status =
      agents_.Stub(host)->GetHostInfo(&context, agent::v1::GetHostInfoRequest(), &info);
  if (!status.ok()) {
    return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
  }
  return info;
}

HostMonitor::HostMonitor(HostStore& hosts, HostPinger& pinger, Clock& clock,
                         HostMonitorOptions options)
    : hosts_(hosts), pinger_(pinger), clock_(clock), options_(options) {}

HostMonitor::~HostMonitor() { Stop(); }

std::vector<HostTransition> HostMonitor::Round() {
  std::vector<HostTransition> transitions;
  absl::StatusOr<std::vector<Host>> hosts = hosts_.List();
  if (!hosts.ok()) {
    L4D2_LOG(WARNING) << "host monitor: " << hosts.status().message();
    return transitions;
  }
  for (const Host& host : *hosts) {
    if (host.state == "enrolling") continue;
    absl::StatusOr<agent::v1::HostInfo> info = pinger_.Ping(host);
    const absl::Time now = clock_.Now();
    std::string to = host.state;
    if (info.ok()) {
      (void)hosts_.MarkSeen(host.id);
      if (info->installed_build_id() != host.installed_build) {
        (void)hosts_.SetInstalledBuild(host.id, info->installed_build_id());
      }
      if (host.state == "unreachable") to = "ready";
    } else if (host.state != "unreachable" &&
               now - host.last_seen.value_or(host.created_at) > options_.grace) {
      to = "unreachable";
    }
    if (to == host.state) continue;
    absl::Status changed = hosts_.SetState(host.id, host.state, to);
    if (!changed.ok()) continue;  // Another controller moved it first.
    L4D2_LOG(WARNING) << "host " << host.name << " (" << host.id << "): " << host.state << " -> "
                      << to << (info.ok() ? "" : absl::StrCat(" (", info.status().message(), ")"));
    transitions.push_back({host.id, host.state, to});
  }
  return transitions;
}

void HostMonitor::Start() {
  thread_ = std::thread([this] {
    absl::MutexLock lock(&mutex_);
    while (!mutex_.AwaitWithTimeout(absl::Condition(&stopping_), options_.interval)) {
      mutex_.Unlock();
      Round();
      mutex_.Lock();
    }
  });
}

void HostMonitor::Stop() {
  {
    absl::MutexLock lock(&mutex_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

}  // namespace l4d2::controller
