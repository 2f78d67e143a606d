#pragma once

// Reading the fleet's certificates (tls/pki.h), and the checks an agent makes before it serves
// a renewed one.

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace l4d2::tls {

struct CertificateFacts {
  std::string serial;  // upper-case hex, as `openssl x509 -serial` prints it
  absl::Time not_before;
  absl::Time not_after;
  std::string common_name;
  // SHA-256 of the DER public key (SubjectPublicKeyInfo), hex: what a pin compares.
  std::string key_sha256;
};

// INVALID_ARGUMENT for anything but a PEM certificate.
absl::StatusOr<CertificateFacts> InspectCertificate(const std::string& certificate_pem);

// A CA's pin: "sha256:" and the hex SHA-256 of its public key (SubjectPublicKeyInfo), as
// kubeadm pins a cluster's CA. What `l4d2-agent join --ca_sha256` checks the controller's CA
// against. INVALID_ARGUMENT for anything but a certificate.
absl::StatusOr<std::string> CaPin(const std::string& ca_certificate_pem);

// Whether `replacement_pem` may take `current_pem`'s place as the certificate served with
// `key_pem`: issued by `ca_pem`, over that key, naming what the current one names, valid at
// `now` and for longer than the current one. INVALID_ARGUMENT saying which check failed.
absl::Status CheckReplacement(const std::string& current_pem, const std::string& replacement_pem,
                              const std::string& key_pem, const std::string& ca_pem,
                              absl::Time now);

}  // namespace l4d2::tls
