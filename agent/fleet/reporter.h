#pragma once

// The agent's reports of its host to its controllers (proto/l4d2/agent/v1/report.proto): every
// `interval`, and soon after the agent changed an instance (Nudge; at most one per `min_gap`),
// a HostReport with the host's info and every instance's status, signed with the key the host
// enrolled with (tls/signatures.h) and sent as one UDP datagram to each controller in
// `targets`; after a change, a few more reports follow at a shorter gap while the instance
// settles. A report that would not fit in a datagram goes without its instances
// (instances_omitted): the controller then asks for them over gRPC. Sending never blocks on a
// controller: an unreachable or down controller only misses reports.

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/datagram.h"
#include "l4d2/agent/v1/agent_service.pb.h"
#include "l4d2/agent/v1/report.pb.h"
#include "tls/signatures.h"

namespace l4d2::agent {

struct ReporterOptions {
  std::string host_id;               // of the agent's certificate (tls::AgentHostId)
  std::vector<std::string> targets;  // the controllers' report addresses, "host:port"
  absl::Duration interval = absl::Seconds(5);
  absl::Duration min_gap = absl::Milliseconds(200);
  // After a change, the next reports come this often, this many times: a unit still starting
  // or stopping when the change was reported, and a game not yet answering A2S, are seen
  // settled within seconds, not an interval later.
  absl::Duration settle_gap = absl::Seconds(1);
  int settle_reports = 3;
};

struct ReportSources {
  std::function<absl::StatusOr<v1::HostInfo>()> host_info;
  // Every instance with the game's view (InstanceManager::List(true)).
  std::function<absl::StatusOr<v1::ListInstancesResponse>()> instances;
};

class HostReporter {
 public:
  // Reports at once, then on its own thread until destroyed. INVALID_ARGUMENT without a host
  // id or a target, or for a malformed target.
  static absl::StatusOr<std::unique_ptr<HostReporter>> Start(ReporterOptions options,
                                                             tls::Signer signer,
                                                             ReportSources sources, Clock& clock);
  ~HostReporter();

  // An instance changed: report within min_gap instead of at the next interval.
  void Nudge();

  // One signed datagram of the host as it is now (what the thread sends; for tests).
  absl::StatusOr<std::string> Datagram();

 private:
  HostReporter(ReporterOptions options, tls::Signer signer, ReportSources sources, Clock& clock)
      : options_(std::move(options)),
        signer_(std::move(signer)),
        sources_(std::move(sources)),
        clock_(clock) {}
  void Run();
  void SendOnce();
  // The reporter's socket for an address family, opened at its first use.
  absl::StatusOr<const DatagramSocket*> SocketFor(int family);

  const ReporterOptions options_;
  const tls::Signer signer_;
  const ReportSources sources_;
  Clock& clock_;
  // Reports are strictly newer than the last, whatever the clock (Datagram may also be called
  // from another thread).
  std::atomic<int64_t> last_sent_nanos_{0};
  absl::Mutex mutex_;
  bool nudged_ ABSL_GUARDED_BY(mutex_) = false;
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  std::optional<DatagramSocket> socket_v4_, socket_v6_;  // the reporter's thread only
  std::thread thread_;
};

}  // namespace l4d2::agent
