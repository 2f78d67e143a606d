#pragma once

// Agent certificates renewed before they expire, over the mutual TLS they keep alive.
//
// Each round reads every enrolled host's certificate; one that expires within `renew_before`
// is renewed: the fleet CA signs a new certificate over the same key and name
// (tls::CertificateAuthority::Renew), the agent checks it and serves it
// (AgentService.InstallCertificate; agent/fleet/agent_certificate.h), and the store keeps it
// in place of the old one if that is still the host's (HostStore::ReplaceCertificate: a
// revocation or another controller's renewal meanwhile wins). No token, no new key: the host's
// signed reports and open connections carry on. A host that cannot be reached is tried again
// every round until its certificate expires (warned in the log each time). Thread-safe.

#include <optional>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "controller/jobs/agent_connector.h"
#include "controller/store/audit_log.h"
#include "controller/store/hosts.h"
#include "controller/store/leases.h"
#include "tls/pki.h"

namespace l4d2::controller {

struct CertificateRenewalOptions {
  absl::Duration lifetime = absl::Hours(24 * 365);  // of each renewed certificate
  // Renewed when it has less than this left: a month of rounds to get through to a host.
  absl::Duration renew_before = absl::Hours(24 * 30);
  absl::Duration interval = absl::Hours(1);
  absl::Duration call_timeout = absl::Seconds(10);
  // With several controllers on one database, only the holder of the lease
  // "certificate-renewal" renews (the others would renew the same hosts again and lose each
  // compare-and-set); empty `owner`: no lease (one controller).
  std::string owner;
};

struct RenewalRound {
  bool leader = true;  // false: another controller renews this round
  int renewed = 0;
  int failed = 0;  // due, and not renewed this round
};

class CertificateRenewer {
 public:
  // Everything must outlive the renewer; `audit` (may be null) records each renewal, `leases`
  // (may be null without options.owner) elects the one controller that renews.
  CertificateRenewer(HostStore& hosts, const tls::CertificateAuthority& ca, AgentConnector& agents,
                     Clock& clock, CertificateRenewalOptions options, AuditLog* audit = nullptr,
                     LeaseStore* leases = nullptr);
  ~CertificateRenewer();

  RenewalRound Round();

  // A round every interval on a thread of its own (the first at once), until Stop().
  void Start();
  void Stop();

 private:
  absl::Status Renew(const std::string& host_id, const std::string& certificate_pem);

  HostStore& hosts_;
  const tls::CertificateAuthority& ca_;
  AgentConnector& agents_;
  Clock& clock_;
  const CertificateRenewalOptions options_;
  AuditLog* audit_;
  LeaseStore* leases_;
  absl::Mutex mutex_;
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  std::thread thread_;
};

}  // namespace l4d2::controller
