#pragma once

// Host enrollment: an agent presents the one-time token of its host and a certificate signing
// request, and gets a certificate naming that host ("<host-id>.agent.left4me") from the fleet
// CA. The token is spent only once a certificate was made for it, and only once: of two
// concurrent enrollments with one token, one gets a certificate. Thread-safe.

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "controller/store/audit_log.h"
#include "controller/store/hosts.h"
#include "l4d2/controller/v1/enrollment.pb.h"
#include "tls/pki.h"

namespace l4d2::controller {

class Enrollment {
 public:
  // Everything must outlive the service.
  // `audit` (may be null) records each enrollment.
  Enrollment(HostStore& hosts, const tls::CertificateAuthority& ca, AuditLog* audit = nullptr,
             absl::Duration certificate_lifetime = absl::Hours(24 * 365));

  // The fleet CA's pin (tls::CaPin), for `l4d2-agent join --ca_sha256`.
  std::string ca_pin() const;

  // Where enrolled agents are told to send their host reports ("" : nowhere).
  void set_report_to(std::string address) { report_to_ = std::move(address); }

  // UNAUTHENTICATED for an unknown, spent or expired token (one message for all);
  // INVALID_ARGUMENT for a malformed or forged signing request (the token stays usable).
  absl::StatusOr<v1::EnrollResponse> Enroll(const v1::EnrollRequest& request);

 private:
  HostStore& hosts_;
  const tls::CertificateAuthority& ca_;
  AuditLog* audit_;
  const absl::Duration lifetime_;
  std::string report_to_;
};

}  // namespace l4d2::controller
