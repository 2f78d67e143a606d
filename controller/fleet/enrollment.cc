#include "controller/fleet/enrollment.h"

#include "absl/time/clock.h"
#include "common/clock.h"
#include "common/status_macros.h"
#include "tls/certificates.h"

namespace l4d2::controller {

Enrollment::Enrollment(HostStore& hosts, const tls::CertificateAuthority& ca, AuditLog* audit,
                       absl::Duration certificate_lifetime)
    : hosts_(hosts), ca_(ca), audit_(audit), lifetime_(certificate_lifetime) {}

std::string Enrollment::ca_pin() const { return tls::CaPin(ca_.certificate_pem()).value_or(""); }

absl::StatusOr<v1::EnrollResponse> Enrollment::Enroll(const v1::EnrollRequest& request) {
  L4D2_ASSIGN_OR_RETURN(Host host, hosts_.FindByEnrollmentToken(request.token()));
  // Certificates are checked against real clocks wherever they go.
  const absl::Time now = Clock::Real().Now();
  L4D2_ASSIGN_OR_RETURN(
      std::string certificate,
      ca_.Issue(request.certificate_request(), tls::AgentName(host.id),
                {.not_before = now - absl::Minutes(5), .not_after = now + lifetime_}));
  // Spent only now, and only once.
  L4D2_ASSIGN_OR_RETURN(Host enrolled, hosts_.RedeemEnrollmentToken(request.token(), certificate));
  if (audit_ != nullptr) {
    (void)audit_->Append("host:" + enrolled.id, "host.enroll", enrolled.id,
                         AuditDetail({{"name", enrolled.name}, {"address", enrolled.address}}));
  }
  v1::EnrollResponse response;
  response.set_host_id(enrolled.id);
  response.set_certificate(std::move(certificate));
  response.set_ca_certificate(ca_.certificate_pem());
  response.set_report_to(report_to_);
  response.set_address(enrolled.address);
  return response;
}

}  // namespace l4d2::controller
