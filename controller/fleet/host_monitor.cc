#include "controller/fleet/host_monitor.h"

#include "absl/strings/str_cat.h"
#include "absl/synchronization/blocking_counter.h"
#include "absl/time/clock.h"
#include "common/logging.h"
#include "grpcpp/client_context.h"
#include "rpc/grpc_status.h"

namespace l4d2::controller {

std::vector<absl::StatusOr<agent::v1::HostInfo>> AgentPinger::PingAll(
    const std::vector<Host>& hosts) {
  struct Call {
    grpc::ClientContext context;
    agent::v1::GetHostInfoRequest request;
    agent::v1::HostInfo info;
    grpc::Status status;
  };
  std::vector<std::unique_ptr<Call>> calls;
  absl::BlockingCounter pending(static_cast<int>(hosts.size()));
  const auto deadline = absl::ToChronoTime(absl::Now() + timeout_);
  for (const Host& host : hosts) {
    auto call = std::make_unique<Call>();
    call->context.set_deadline(deadline);
    Call* raw = call.get();
    agents_.Stub(host)->async()->GetHostInfo(&raw->context, &raw->request, &raw->info,
                                             [raw, &pending](grpc::Status status) {
                                               raw->status = std::move(status);
                                               pending.DecrementCount();
                                             });
    calls.push_back(std::move(call));
  }
  pending.Wait();
  std::vector<absl::StatusOr<agent::v1::HostInfo>> answers;
  for (const auto& call : calls) {
    if (call->status.ok()) {
      answers.push_back(std::move(call->info));
    } else {
      answers.push_back(FromGrpcStatus(call->status));
    }
  }
  return answers;
}

HostMonitor::HostMonitor(HostStore& hosts, HostPinger& pinger, Clock& clock,
                         HostMonitorOptions options, AuditLog* audit)
    : hosts_(hosts), pinger_(pinger), clock_(clock), options_(options), audit_(audit) {}

HostMonitor::~HostMonitor() { Stop(); }

std::vector<HostTransition> HostMonitor::Round() {
  std::vector<HostTransition> transitions;
  absl::StatusOr<std::vector<Host>> hosts = hosts_.List();
  if (!hosts.ok()) {
    L4D2_LOG(WARNING) << "host monitor: " << hosts.status().message();
    return transitions;
  }
  std::vector<Host> enrolled;
  for (const Host& host : *hosts) {
    if (host.state != "enrolling") enrolled.push_back(host);
  }
  std::vector<absl::StatusOr<agent::v1::HostInfo>> answers = pinger_.PingAll(enrolled);
  const absl::Time now = clock_.Now();
  std::vector<std::string> answered;
  for (size_t i = 0; i < enrolled.size(); ++i) {
    if (answers[i].ok()) answered.push_back(enrolled[i].id);
  }
  if (absl::Status seen = hosts_.MarkSeen(answered); !seen.ok()) {
    L4D2_LOG(WARNING) << "host monitor: " << seen.message();
  }
  for (size_t i = 0; i < enrolled.size(); ++i) {
    const Host& host = enrolled[i];
    const absl::StatusOr<agent::v1::HostInfo>& info = answers[i];
    std::string to = host.state;
    if (info.ok()) {
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
    if (audit_ != nullptr) {
      (void)audit_->Append("system", "host.state", host.id,
                           AuditDetail({{"from", host.state}, {"to", to}}));
    }
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
