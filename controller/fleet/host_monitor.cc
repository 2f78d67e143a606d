#include "controller/fleet/host_monitor.h"

#include <algorithm>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "common/clock.h"
#include "common/logging.h"
#include "controller/jobs/agent_fanout.h"

namespace l4d2::controller {

std::vector<absl::StatusOr<HostAnswer>> AgentPinger::PingAll(const std::vector<Host>& hosts) {
  std::vector<absl::StatusOr<agent::v1::HostInfo>> infos =
      AskAll(agents_, hosts, &agent::v1::AgentService::StubInterface::async_interface::GetHostInfo,
             agent::v1::GetHostInfoRequest(), timeout_);
  std::vector<absl::StatusOr<HostAnswer>> answers;
  answers.reserve(infos.size());
  for (absl::StatusOr<agent::v1::HostInfo>& info : infos) {
    if (info.ok()) {
      answers.push_back(HostAnswer{.info = *std::move(info)});
    } else {
      answers.push_back(info.status());
    }
  }
  return answers;
}

HostMonitor::HostMonitor(HostStore& hosts, HostPinger& pinger, Clock& clock,
                         HostMonitorOptions options, AuditLog* audit)
    : hosts_(hosts), pinger_(pinger), clock_(clock), options_(options), audit_(audit) {}

HostMonitor::~HostMonitor() { Stop(); }

absl::Time HostMonitor::HeardFrom(const std::string& host_id) const {
  auto it = heard_.find(host_id);
  return it == heard_.end() ? absl::InfinitePast() : it->second;
}

std::vector<HostTransition> HostMonitor::Round() {
  std::vector<HostTransition> transitions;
  if (!watching_since_.has_value()) watching_since_ = clock_.Now();
  absl::StatusOr<std::vector<Host>> hosts = hosts_.List();
  if (!hosts.ok()) {
    L4D2_LOG(WARNING) << "host monitor: " << hosts.status().message();
    return transitions;
  }
  std::vector<Host> enrolled;
  for (const Host& host : *hosts) {
    if (host.state != "enrolling") enrolled.push_back(host);
  }
  std::vector<absl::StatusOr<HostAnswer>> answers = pinger_.PingAll(enrolled);
  const absl::Time now = clock_.Now();
  std::vector<std::pair<std::string, absl::Time>> due;  // last_seen to write
  absl::flat_hash_set<std::string> ids;
  for (size_t i = 0; i < enrolled.size(); ++i) {
    const Host& host = enrolled[i];
    ids.insert(host.id);
    if (!answers[i].ok()) continue;
    const absl::Time at = answers[i]->at.value_or(now);
    heard_[host.id] = at;
    auto written = written_.find(host.id);
    if (host.state == "unreachable" || written == written_.end() ||
        now - written->second >= options_.seen_write_interval) {
      due.emplace_back(host.id, at);
    }
  }
  if (absl::Status seen = hosts_.MarkSeen(due); !seen.ok()) {
    L4D2_LOG(WARNING) << "host monitor: " << seen.message();
  } else {
    for (const auto& [id, at] : due) written_[id] = now;
  }
  // Hosts deleted since are forgotten.
  for (auto* map : {&heard_, &written_}) {
    absl::erase_if(*map, [&](const auto& entry) { return !ids.contains(entry.first); });
  }
  absl::erase_if(reported_build_, [&](const auto& entry) { return !ids.contains(entry.first); });
  for (size_t i = 0; i < enrolled.size(); ++i) {
    const Host& host = enrolled[i];
    const absl::StatusOr<HostAnswer>& answer = answers[i];
    const agent::v1::HostInfo* info = answer.ok() ? &answer->info : nullptr;
    std::string to = host.state;
    if (info != nullptr) {
      // Written only when they changed: a round over thousands of hosts stays one write.
      // Compared with the host's last report (the row only at first sight): a report made
      // before an install finished must not undo the build the install job wrote. No build
      // in a report is not news: the agent reads its app manifest, which steamcmd rewrites
      // while it works (and which a host has before its first install only).
      const std::string& build = info->installed_build_id();
      auto reported = reported_build_.find(host.id);
      if (!build.empty() && (reported == reported_build_.end() ? build != host.installed_build
                                                               : build != reported->second)) {
        (void)hosts_.SetInstalledBuild(host.id, build);
      }
      if (!build.empty()) reported_build_[host.id] = build;
      if (static_cast<int64_t>(info->memory_total_bytes()) != host.memory_bytes) {
        (void)hosts_.SetMemory(host.id, static_cast<int64_t>(info->memory_total_bytes()));
      }
      const std::vector<int> ports(info->ports_in_use().begin(), info->ports_in_use().end());
      if (ports != host.ports_in_use) (void)hosts_.SetPortsInUse(host.id, ports);
      JudgeDisk(host, *info);
      if (host.state == "unreachable") to = "ready";
    } else if (host.state != "unreachable" &&
               now - std::max({host.last_seen.value_or(host.created_at), HeardFrom(host.id),
                               *watching_since_}) >
                   options_.grace) {
      to = "unreachable";
    }
    if (to == host.state) continue;
    absl::Status changed = hosts_.SetState(host.id, host.state, to);
    if (!changed.ok()) continue;  // Another controller moved it first.
    L4D2_LOG(WARNING) << "host " << host.name << " (" << host.id << "): " << host.state << " -> "
                      << to
                      << (answer.ok() ? "" : absl::StrCat(" (", answer.status().message(), ")"));
    if (audit_ != nullptr) {
      (void)audit_->Append("system", "host.state", host.id,
                           AuditDetail({{"from", host.state}, {"to", to}}));
    }
    transitions.push_back({host.id, host.state, to});
  }
  return transitions;
}

void HostMonitor::JudgeDisk(const Host& host, const agent::v1::HostInfo& info) {
  if (options_.disk_low_percent <= 0 || info.disk_total_bytes() == 0) return;
  const double free_percent = 100.0 * static_cast<double>(info.disk_free_bytes()) /
                              static_cast<double>(info.disk_total_bytes());
  const bool low = host.disk_low ? free_percent < options_.disk_low_percent + 5
                                 : free_percent < options_.disk_low_percent;
  if (low == host.disk_low) return;
  absl::StatusOr<bool> changed = hosts_.SetDiskLow(host.id, low);
  if (!changed.ok() || !*changed) return;  // Another controller's monitor came first.
  const std::string left = absl::StrFormat("%.1f", free_percent);
  L4D2_LOG(WARNING) << "host " << host.name << " (" << host.id << "): disk "
                    << (low ? "nearly full" : "no longer nearly full") << ", " << left << " % free";
  if (audit_ != nullptr) {
    (void)audit_->Append("system", low ? "host.disk_low" : "host.disk_ok", host.id,
                         AuditDetail({{"name", host.name},
                                      {"free_percent", left},
                                      {"free_bytes", absl::StrCat(info.disk_free_bytes())},
                                      {"total_bytes", absl::StrCat(info.disk_total_bytes())}}));
  }
}

void HostMonitor::Start() {
  thread_ = std::thread([this] {
    absl::MutexLock lock(&mutex_);
    // Rounds start every interval, however long the last one waited on silent agents: a host
    // is then marked at most grace + the ping timeout after its last answer. Rounds are woken
    // in real time (absl::Mutex waits on it); what they judge uses `clock_`.
    absl::Time next = RealDeadline(options_.interval);
    while (!mutex_.AwaitWithDeadline(absl::Condition(&stopping_), next)) {
      next += options_.interval;
      mutex_.Unlock();
      Round();
      mutex_.Lock();
      if (RealTimeLeft(next) < absl::ZeroDuration()) {
        next = RealDeadline(absl::ZeroDuration());  // A round longer than the interval.
      }
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
