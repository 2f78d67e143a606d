#include "controller/fleet/certificate_renewal.h"

#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "common/status_macros.h"
#include "grpcpp/client_context.h"
#include "rpc/grpc_status.h"
#include "tls/certificates.h"

namespace l4d2::controller {

CertificateRenewer::CertificateRenewer(HostStore& hosts, const tls::CertificateAuthority& ca,
                                       AgentConnector& agents, Clock& clock,
                                       CertificateRenewalOptions options, AuditLog* audit,
                                       LeaseStore* leases)
    : hosts_(hosts),
      ca_(ca),
      agents_(agents),
      clock_(clock),
      options_(std::move(options)),
      audit_(audit),
      leases_(leases) {}

CertificateRenewer::~CertificateRenewer() { Stop(); }

RenewalRound CertificateRenewer::Round() {
  RenewalRound round;
  if (leases_ != nullptr && !options_.owner.empty()) {
    absl::StatusOr<bool> leader =
        leases_->TryAcquire("certificate-renewal", options_.owner, options_.interval * 3);
    round.leader = leader.value_or(false);
    if (!round.leader) return round;
  }
  absl::StatusOr<std::vector<std::pair<std::string, std::string>>> certificates =
      hosts_.Certificates();
  if (!certificates.ok()) {
    L4D2_LOG(WARNING) << "certificate renewal: " << certificates.status().message();
    return round;
  }
  const absl::Time now = clock_.Now();
  for (const auto& [host_id, pem] : *certificates) {
    absl::StatusOr<tls::CertificateFacts> facts = tls::InspectCertificate(pem);
    if (!facts.ok() || facts->not_after - now > options_.renew_before) continue;
    if (absl::Status renewed = Renew(host_id, pem); renewed.ok()) {
      ++round.renewed;
    } else {
      ++round.failed;
      L4D2_LOG(WARNING) << "host " << host_id << ": its certificate (valid until "
                        << absl::FormatTime(facts->not_after)
                        << ") could not be renewed: " << renewed.message();
    }
  }
  return round;
}

absl::Status CertificateRenewer::Renew(const std::string& host_id,
                                       const std::string& certificate_pem) {
  L4D2_ASSIGN_OR_RETURN(const Host host, hosts_.Get(host_id));
  // Certificates are checked against real clocks wherever they go.
  const absl::Time now = Clock::Real().Now();
  L4D2_ASSIGN_OR_RETURN(const std::string renewed,
                        ca_.Renew(certificate_pem, {.not_before = now - absl::Minutes(5),
                                                    .not_after = now + options_.lifetime}));
  agent::v1::InstallCertificateRequest request;
  request.set_certificate(renewed);
  agent::v1::InstallCertificateResponse response;
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(RealDeadline(options_.call_timeout)));
  L4D2_RETURN_IF_ERROR(
      FromGrpcStatus(agents_.Stub(host)->InstallCertificate(&context, request, &response)));
  L4D2_RETURN_IF_ERROR(hosts_.ReplaceCertificate(host_id, certificate_pem, renewed));
  L4D2_ASSIGN_OR_RETURN(const tls::CertificateFacts facts, tls::InspectCertificate(renewed));
  L4D2_LOG(INFO) << "host " << host_id << ": certificate renewed, serial " << facts.serial
                 << ", valid until " << absl::FormatTime(facts.not_after);
  if (audit_ != nullptr) {
    (void)audit_->Append(
        "system", "host.certificate.renew", host_id,
        AuditDetail({{"serial", facts.serial},
                     {"not_after",
                      absl::FormatTime(absl::RFC3339_sec, facts.not_after, absl::UTCTimeZone())}}));
  }
  return absl::OkStatus();
}

void CertificateRenewer::Start() {
  thread_ = std::thread([this] {
    absl::MutexLock lock(&mutex_);
    do {
      mutex_.Unlock();
      Round();
      mutex_.Lock();
    } while (
        !mutex_.AwaitWithDeadline(absl::Condition(&stopping_), RealDeadline(options_.interval)));
  });
}

void CertificateRenewer::Stop() {
  {
    absl::MutexLock lock(&mutex_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

}  // namespace l4d2::controller
