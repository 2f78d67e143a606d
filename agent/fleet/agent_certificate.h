#pragma once

// The agent's TLS files (listen.tls), and their certificate replaced by a renewed one.
//
// The controller renews a host's certificate well before it expires (controller/fleet/
// certificate_renewal.h): the fleet CA signs a new certificate over the key the agent already
// has, and the agent checks it (tls::CheckReplacement: this CA, this key, this name, later
// expiry) and writes it in place of the old one, atomically. The key never changes, so the
// host's signed reports verify throughout and the gRPC server's file watcher serves the new
// certificate to new connections from its next read (GrpcServerOptions::tls_reload). A new
// key comes only with a new enrollment (after a revocation). Thread-safe.

#include <string>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/clock.h"
#include "tls/certificates.h"

namespace l4d2::agent {

struct AgentTlsFiles {
  std::string certificate;  // paths, as listen.tls
  std::string key;
  std::string ca;
};

class AgentCertificate {
 public:
  // `clock` must outlive this.
  AgentCertificate(AgentTlsFiles files, Clock& clock) : files_(std::move(files)), clock_(clock) {}

  // Serves `certificate_pem` from now on; the facts of it. INVALID_ARGUMENT when the
  // certificate may not replace the current one (nothing is written); FAILED_PRECONDITION when
  // the agent's own files cannot be read.
  absl::StatusOr<tls::CertificateFacts> Install(const std::string& certificate_pem);

 private:
  const AgentTlsFiles files_;
  Clock& clock_;
  absl::Mutex mutex_;  // one replacement at a time
};

}  // namespace l4d2::agent
