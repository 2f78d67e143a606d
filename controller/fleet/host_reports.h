#pragma once

// Host reports (proto/l4d2/agent/v1/report.proto): what each agent says of its host and its
// instances, pushed as signed UDP datagrams every health interval, so that the controller
// holds no connection to a host it has no work for (docs/architecture.md, "Host reports").
//
// HostReportBook checks every datagram before it keeps anything, cheapest check first:
//   1. size and shape: a SignedHostReport whose report parses and names a host;
//   2. the host: one the hosts table has a certificate for (looked up once, then kept; ids
//      that are not are remembered as such for `unknown_retry`, and look-ups are rationed,
//      so a flood of made-up ids costs at most `lookups_per_second` point queries);
//   3. freshness: sent within `max_skew` of the controller's clock, and later than the last
//      report accepted from the host (a recorded datagram cannot be played back; a copy of the
//      last one, as a name with two addresses of one controller makes, changes nothing);
//   4. the signature, by the key of the certificate the controller issued to that host at
//      enrollment (tls/signatures.h), rationed per host (`verifications_per_second`): forged
//      datagrams naming a real host cost bounded CPU. Should they crowd out the host's own
//      reports, host health and the reconciler ask the agent over gRPC instead (report_pinger.h),
//      so a forger can make the controller dial, never mark a host down.
// The book keeps the latest accepted report of each host (serialized: a few hundred bytes per
// host and instance) with the time it arrived. Thread-safe.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "l4d2/agent/v1/report.pb.h"
#include "rpc/host_report.h"
#include "tls/signatures.h"

namespace l4d2::controller {

struct HostReportOptions {
  absl::Duration max_skew = absl::Seconds(60);
  // Per host: agents send one report per interval and one after each change they make.
  double verifications_per_second = 4;
  double verification_burst = 16;
  // Look-ups of hosts not yet known, for the whole book: enough for a fleet's first reports
  // after a restart at once, and a bound on what made-up host ids cost.
  double lookups_per_second = 2000;
  double lookup_burst = 20000;
  absl::Duration unknown_retry = absl::Seconds(30);
  // How long a host's certificate is trusted before it is read again (and at its expiry): how
  // soon a renewal or a revocation another controller made reaches this one. Forget() makes a
  // revocation made here count at once.
  absl::Duration recheck = absl::Minutes(1);
};

struct ReceivedReport {
  agent::v1::HostReport report;
  absl::Time received_at;
};

class HostReportBook {
 public:
  // A host's certificate (PEM) as the controller issued it; NOT_FOUND for a host that has
  // none (unknown, not enrolled yet).
  using CertificateSource = std::function<absl::StatusOr<std::string>(const std::string& host_id)>;

  HostReportBook(CertificateSource certificates, Clock& clock, HostReportOptions options = {});

  // Checks one datagram and keeps its report; otherwise why it was refused (nothing kept), or
  // ALREADY_EXISTS for a copy of the last report accepted.
  absl::Status Accept(absl::string_view datagram);

  // Called with the host's id after each report accepted (under the book's lock: it must be
  // quick and not call the book). Set before reports arrive.
  void SetListener(std::function<void(const std::string& host_id)> on_accepted) {
    on_accepted_ = std::move(on_accepted);
  }

  // The latest report of `host_id` that arrived at or after `since`.
  std::optional<ReceivedReport> Latest(const std::string& host_id, absl::Time since) const;

  // Forgets every host not in `host_ids` (deleted ones) and every id found without a
  // certificate (a host enrolled since is looked up at its next report). Host health calls it
  // every round with the hosts table's ids: the book never outgrows the fleet by more than a
  // round's look-ups.
  void Retain(const absl::flat_hash_set<std::string>& host_ids);
  // Forgets one host: its certificate was revoked (the next report looks it up again).
  void Forget(const std::string& host_id);

  struct Counters {
    int64_t accepted = 0;
    int64_t refused = 0;
    int64_t duplicates = 0;  // copies of an accepted report (ALREADY_EXISTS), not refusals
  };
  Counters counters() const;

 private:
  // A budget refilled at `rate` per second up to `burst`.
  struct Allowance {
    double tokens = 0;
    absl::Time refilled = absl::InfinitePast();
    bool Take(absl::Time now, double rate, double burst);
  };
  struct Known {
    std::optional<tls::Verifier> verifier;  // unset: no certificate, until `retry_at`
    absl::Time retry_at;
    absl::Time recheck_at;  // of a verifier: when the certificate is read again
    bool lost_key = false;  // had a verifier, and the last look-up found none
    Allowance verifications;
    int64_t last_sent_nanos = 0;
    std::string report;  // the latest accepted, serialized
    absl::Time received_at = absl::InfinitePast();
  };

  absl::Status Refuse(absl::Status why) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  // The entry for `host_id`, looking its certificate up when due; null when refused.
  Known* Lookup(const std::string& host_id, absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);

  const CertificateSource certificates_;
  std::function<void(const std::string&)> on_accepted_;
  Clock& clock_;
  const HostReportOptions options_;
  mutable absl::Mutex mutex_;
  absl::flat_hash_map<std::string, Known> hosts_ ABSL_GUARDED_BY(mutex_);
  Allowance lookups_ ABSL_GUARDED_BY(mutex_);
  Counters counters_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace l4d2::controller
