#include "controller/fleet/report_sources.h"

#include <optional>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"

namespace l4d2::controller {
namespace {

// Answers `hosts` from `answer` (nullopt: not from a report), asking `fallback` for the rest
// in one call, in order.
template <typename Answer, typename FromReport, typename Fallback>
std::vector<absl::StatusOr<Answer>> FromReportsOr(const std::vector<Host>& hosts,
                                                  FromReport from_report, Fallback fallback) {
  std::vector<absl::StatusOr<Answer>> answers(hosts.size(), absl::UnknownError("unasked"));
  std::vector<Host> asked;
  std::vector<size_t> asked_index;
  for (size_t i = 0; i < hosts.size(); ++i) {
    std::optional<Answer> answer = from_report(hosts[i]);
    if (answer.has_value()) {
      answers[i] = *std::move(answer);
    } else {
      asked.push_back(hosts[i]);
      asked_index.push_back(i);
    }
  }
  if (!asked.empty()) {
    std::vector<absl::StatusOr<Answer>> fallen_back = fallback(asked);
    for (size_t j = 0; j < asked.size(); ++j) answers[asked_index[j]] = std::move(fallen_back[j]);
  }
  return answers;
}

}  // namespace

std::vector<absl::StatusOr<HostAnswer>> ReportedHostPinger::PingAll(
    const std::vector<Host>& hosts) {
  absl::flat_hash_set<std::string> ids;
  for (const Host& host : hosts) ids.insert(host.id);
  book_.Retain(ids);
  const absl::Time since = clock_.Now() - freshness_;
  return FromReportsOr<HostAnswer>(
      hosts,
      [&](const Host& host) -> std::optional<HostAnswer> {
        std::optional<ReceivedReport> received = book_.Latest(host.id, since);
        if (!received.has_value()) return std::nullopt;
        return HostAnswer{.info = std::move(*received->report.mutable_info()),
                          .at = received->received_at};
      },
      [&](const std::vector<Host>& asked) {
        asked_ += static_cast<int64_t>(asked.size());
        return fallback_.PingAll(asked);
      });
}

std::vector<absl::StatusOr<agent::v1::ListInstancesResponse>> ReportedInstanceLister::ListAll(
    const std::vector<Host>& hosts) {
  const absl::Time since = clock_.Now() - freshness_;
  return FromReportsOr<agent::v1::ListInstancesResponse>(
      hosts,
      [&](const Host& host) -> std::optional<agent::v1::ListInstancesResponse> {
        std::optional<ReceivedReport> received = book_.Latest(host.id, since);
        if (!received.has_value() || received->report.instances_omitted()) return std::nullopt;
        agent::v1::ListInstancesResponse response;
        response.mutable_instances()->Swap(received->report.mutable_instances());
        return response;
      },
      [&](const std::vector<Host>& asked) { return fallback_.ListAll(asked); });
}

std::string HostReportMetrics(const HostReportBook& book, const ReportedHostPinger& pinger) {
  const HostReportBook::Counters counters = book.counters();
  return absl::StrCat(
      "# HELP l4d2_host_reports_total Host report datagrams received, by outcome.\n",
      "# TYPE l4d2_host_reports_total counter\n", "l4d2_host_reports_total{result=\"accepted\"} ",
      counters.accepted, "\n", "l4d2_host_reports_total{result=\"refused\"} ", counters.refused,
      "\n", "l4d2_host_reports_total{result=\"duplicate\"} ", counters.duplicates, "\n",
      "# HELP l4d2_host_health_dials_total Hosts asked over gRPC for their health (no fresh "
      "report).\n",
      "# TYPE l4d2_host_health_dials_total counter\n", "l4d2_host_health_dials_total ",
      pinger.asked(), "\n");
}

}  // namespace l4d2::controller
