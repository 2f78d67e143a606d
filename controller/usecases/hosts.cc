#include "controller/usecases/hosts.h"

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "controller/jobs/job_kinds.h"
#include "l4d2/controller/v1/jobs.pb.h"
#include "rpc/proto_json.h"
#include "tls/certificates.h"

namespace l4d2::controller {

std::string EnrollCommand(const std::string& controller_url, const std::string& ca_pin) {
  if (ca_pin.empty()) {
    return absl::StrCat("l4d2-agent --config /etc/left4me/agent.yaml enroll --controller ",
                        controller_url, " --token_file TOKEN_FILE");
  }
  return absl::StrCat("l4d2-agent --config /etc/left4me/agent.yaml join --controller ",
                      controller_url, " --ca_sha256 ", ca_pin, " --token_file TOKEN_FILE");
}

absl::StatusOr<CreatedHost> CreateHost(FleetStores& stores, const std::string& by,
                                       const NewHost& host, absl::Duration token_ttl,
                                       const std::string& controller_url,
                                       const std::string& ca_pin) {
  L4D2_ASSIGN_OR_RETURN(auto created, stores.hosts.Create(host, token_ttl));
  (void)stores.audit.Append(
      by, "host.create", created.first.id,
      AuditDetail({{"name", created.first.name}, {"address", created.first.address}}));
  return CreatedHost{.host = std::move(created.first),
                     .enrollment_token = std::move(created.second),
                     .token_expires_at = stores.clock.Now() + token_ttl,
                     .enroll_command = EnrollCommand(controller_url, ca_pin)};
}

absl::StatusOr<CreatedHost> RevokeHostCertificate(FleetStores& stores, const std::string& by,
                                                  const std::string& id, absl::Duration token_ttl,
                                                  const std::string& controller_url,
                                                  const std::string& ca_pin) {
  // What was revoked, for the audit log: the serial of the certificate stored until now.
  absl::StatusOr<std::string> revoked = stores.hosts.Certificate(id);
  absl::StatusOr<tls::CertificateFacts> facts =
      revoked.ok() ? tls::InspectCertificate(*revoked) : revoked.status();
  L4D2_ASSIGN_OR_RETURN(std::string token, stores.hosts.RevokeCertificate(id, token_ttl));
  (void)stores.audit.Append(by, "host.certificate.revoke", id,
                            AuditDetail({{"serial", facts.ok() ? facts->serial : ""}}));
  L4D2_ASSIGN_OR_RETURN(Host host, stores.hosts.Get(id));
  return CreatedHost{.host = std::move(host),
                     .enrollment_token = std::move(token),
                     .token_expires_at = stores.clock.Now() + token_ttl,
                     .enroll_command = EnrollCommand(controller_url, ca_pin)};
}

absl::Status SetHostDrained(FleetStores& stores, const std::string& by, const std::string& id,
                            bool drained) {
  L4D2_RETURN_IF_ERROR(stores.hosts.SetDrained(id, drained));
  (void)stores.audit.Append(by, drained ? "host.drain" : "host.undrain", id);
  return absl::OkStatus();
}

absl::Status DeleteHost(FleetStores& stores, const std::string& by, const std::string& id) {
  L4D2_RETURN_IF_ERROR(stores.hosts.Delete(id));
  (void)stores.audit.Append(by, "host.delete", id);
  return absl::OkStatus();
}

absl::StatusOr<std::string> InstallGame(FleetStores& stores, const std::string& by,
                                        const std::string& id, const GameInstall& install) {
  L4D2_ASSIGN_OR_RETURN(Host host, stores.hosts.Get(id));
  NewJob job = HostInstallJob(host.id, by);
  v1::HostInstallParams params;
  params.set_host_id(host.id);
  params.set_validate(install.validate);
  params.set_branch(install.branch);
  job.params = ToJson(params);
  L4D2_ASSIGN_OR_RETURN(std::string job_id, stores.jobs.Enqueue(job));
  (void)stores.audit.Append(by, "host.install", host.id, AuditDetail({{"job", job_id}}));
  return job_id;
}

}  // namespace l4d2::controller
