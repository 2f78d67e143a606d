#include "controller/fleet/host_reports.h"

#include <algorithm>
#include <cstdlib>

#include "absl/strings/str_cat.h"

namespace l4d2::controller {

bool HostReportBook::Allowance::Take(absl::Time now, double rate, double burst) {
  if (refilled == absl::InfinitePast()) {
    tokens = burst;
  } else {
    tokens = std::min(burst, tokens + absl::ToDoubleSeconds(now - refilled) * rate);
  }
  refilled = now;
  if (tokens < 1) return false;
  tokens -= 1;
  return true;
}

HostReportBook::HostReportBook(CertificateSource certificates, Clock& clock,
                               HostReportOptions options)
    : certificates_(std::move(certificates)), clock_(clock), options_(options) {}

absl::Status HostReportBook::Refuse(absl::Status why) {
  ++counters_.refused;
  return why;
}

HostReportBook::Known* HostReportBook::Lookup(const std::string& host_id, absl::Time now) {
  auto it = hosts_.find(host_id);
  if (it != hosts_.end()) {
    const Known& known = it->second;
    if (known.verifier.has_value() ? now < known.recheck_at : now < known.retry_at) {
      return &it->second;
    }
  }
  if (!lookups_.Take(now, options_.lookups_per_second, options_.lookup_burst)) {
    // Deferred: a host already known keeps what it had until a later look-up.
    return it != hosts_.end() ? &it->second : nullptr;
  }
  Known& known = hosts_[host_id];
  const bool had_key = known.verifier.has_value();
  known.verifier.reset();
  known.retry_at = now + options_.unknown_retry;
  absl::StatusOr<std::string> certificate = certificates_(host_id);
  absl::StatusOr<tls::Verifier> verifier =
      certificate.ok() ? tls::Verifier::FromCertificate(*certificate, now) : certificate.status();
  if (verifier.ok()) {
    known.recheck_at = std::min(now + options_.recheck, verifier->not_after());
    known.verifier = *std::move(verifier);
  }
  known.lost_key = had_key && !known.verifier.has_value();
  return &known;
}

absl::Status HostReportBook::Accept(absl::string_view datagram) {
  const absl::Time now = clock_.Now();
  agent::v1::SignedHostReport signed_report;
  agent::v1::HostReport report;
  if (datagram.size() > kMaxHostReportDatagram ||
      !signed_report.ParseFromArray(datagram.data(), static_cast<int>(datagram.size())) ||
      !report.ParseFromString(signed_report.report()) || report.host_id().empty()) {
    absl::MutexLock lock(&mutex_);
    return Refuse(absl::InvalidArgumentError("not a host report"));
  }
  std::optional<tls::Verifier> verifier;
  {
    absl::MutexLock lock(&mutex_);
    Known* known = Lookup(report.host_id(), now);
    if (known == nullptr) {
      return Refuse(absl::ResourceExhaustedError("too many unknown hosts: look-up deferred"));
    }
    if (!known->verifier.has_value()) {
      if (known->lost_key) {
        return Refuse(absl::UnauthenticatedError(
            absl::StrCat("host ", report.host_id(), ": its certificate expired or was revoked")));
      }
      return Refuse(absl::NotFoundError(
          absl::StrCat("host ", report.host_id(), " has no certificate from this controller")));
    }
    if (now > known->verifier->not_after()) {  // its look-up deferred past the expiry
      return Refuse(absl::UnauthenticatedError(
          absl::StrCat("host ", report.host_id(), ": its certificate expired")));
    }
    const absl::Time sent = absl::FromUnixNanos(report.sent_unix_nanos());
    if (absl::AbsDuration(now - sent) > options_.max_skew) {
      return Refuse(absl::OutOfRangeError(absl::StrCat(
          "host ", report.host_id(), ": sent ", absl::FormatDuration(now - sent),
          " from this controller's clock (allowed: ", absl::FormatDuration(options_.max_skew),
          ")")));
    }
    if (report.sent_unix_nanos() == known->last_sent_nanos) {
      // A copy (a name resolving to two addresses of this controller): changes nothing.
      ++counters_.duplicates;
      return absl::AlreadyExistsError(
          absl::StrCat("host ", report.host_id(), ": a copy of its last report"));
    }
    if (report.sent_unix_nanos() < known->last_sent_nanos) {
      return Refuse(absl::FailedPreconditionError(
          absl::StrCat("host ", report.host_id(), ": older than its last report")));
    }
    if (!known->verifications.Take(now, options_.verifications_per_second,
                                   options_.verification_burst)) {
      return Refuse(absl::ResourceExhaustedError(
          absl::StrCat("host ", report.host_id(), ": too many reports")));
    }
    verifier = known->verifier;  // Shares the key: verified without the lock.
  }
  const bool valid =
      verifier->Verify(kHostReportContext, signed_report.report(), signed_report.signature());
  absl::MutexLock lock(&mutex_);
  if (!valid) {
    return Refuse(absl::UnauthenticatedError(
        absl::StrCat("host ", report.host_id(), ": the signature does not verify")));
  }
  auto it = hosts_.find(report.host_id());
  if (it == hosts_.end()) return Refuse(absl::NotFoundError("host forgotten meanwhile"));
  Known& known = it->second;
  if (report.sent_unix_nanos() <= known.last_sent_nanos) {  // Another copy won the race.
    ++counters_.duplicates;
    return absl::AlreadyExistsError(
        absl::StrCat("host ", report.host_id(), ": not newer than its last report"));
  }
  known.last_sent_nanos = report.sent_unix_nanos();
  known.report = std::move(*signed_report.mutable_report());
  known.received_at = now;
  ++counters_.accepted;
  if (on_accepted_) on_accepted_(report.host_id());
  return absl::OkStatus();
}

std::optional<ReceivedReport> HostReportBook::Latest(const std::string& host_id,
                                                     absl::Time since) const {
  std::string bytes;
  absl::Time received_at;
  {
    absl::MutexLock lock(&mutex_);
    auto it = hosts_.find(host_id);
    if (it == hosts_.end() || it->second.report.empty() || it->second.received_at < since) {
      return std::nullopt;
    }
    bytes = it->second.report;
    received_at = it->second.received_at;
  }
  ReceivedReport received{.received_at = received_at};
  if (!received.report.ParseFromString(bytes)) return std::nullopt;  // Parsed once already.
  return received;
}

void HostReportBook::Retain(const absl::flat_hash_set<std::string>& host_ids) {
  absl::MutexLock lock(&mutex_);
  absl::erase_if(hosts_, [&](const auto& entry) {
    return !entry.second.verifier.has_value() || !host_ids.contains(entry.first);
  });
}

void HostReportBook::Forget(const std::string& host_id) {
  absl::MutexLock lock(&mutex_);
  hosts_.erase(host_id);
}

HostReportBook::Counters HostReportBook::counters() const {
  absl::MutexLock lock(&mutex_);
  return counters_;
}

}  // namespace l4d2::controller
