#pragma once

// Host health and the reconciler from host reports first (host_reports.h): a host whose report
// arrived within `freshness` is answered from it; the others, and only they, are asked over
// gRPC (agents that do not report: UDP blocked on the way, a report crowded out by forgeries,
// the first round after the controller started). A fleet that reports therefore costs the
// controller no connection and no TLS handshake between jobs (docs/benchmarks.md, P7/P8).

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "common/clock.h"
#include "controller/fleet/host_monitor.h"
#include "controller/fleet/host_reports.h"
#include "controller/fleet/reconciler.h"

namespace l4d2::controller {

class ReportedHostPinger final : public HostPinger {
 public:
  // Everything must outlive the pinger. `freshness`: the health interval and a little more, so
  // that every round sees one report of a host that reports every interval.
  ReportedHostPinger(HostReportBook& book, HostPinger& fallback, Clock& clock,
                     absl::Duration freshness)
      : book_(book), fallback_(fallback), clock_(clock), freshness_(freshness) {}

  // Also tells the book which hosts exist (HostReportBook::Retain).
  std::vector<absl::StatusOr<HostAnswer>> PingAll(const std::vector<Host>& hosts) override;

  // Hosts asked over gRPC so far, one per host and round: 0 while every host reports.
  int64_t asked() const { return asked_; }

 private:
  HostReportBook& book_;
  HostPinger& fallback_;
  std::atomic<int64_t> asked_{0};
  Clock& clock_;
  const absl::Duration freshness_;
};

class ReportedInstanceLister final : public InstanceLister {
 public:
  ReportedInstanceLister(const HostReportBook& book, InstanceLister& fallback, Clock& clock,
                         absl::Duration freshness)
      : book_(book), fallback_(fallback), clock_(clock), freshness_(freshness) {}

  std::vector<absl::StatusOr<agent::v1::ListInstancesResponse>> ListAll(
      const std::vector<Host>& hosts) override;

 private:
  const HostReportBook& book_;
  InstanceLister& fallback_;
  Clock& clock_;
  const absl::Duration freshness_;
};

// /metrics series (Prometheus text) of host reports: accepted and refused datagrams, and hosts
// asked over gRPC for their health because no report came.
std::string HostReportMetrics(const HostReportBook& book, const ReportedHostPinger& pinger);

}  // namespace l4d2::controller
