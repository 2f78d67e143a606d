#pragma once

// The fleet's own public-key infrastructure for mutual TLS between the controller and agents
// (OpenSSL's libcrypto).
//
// The controller holds a CA (an EC P-256 key and a self-signed certificate). It issues each
// agent a certificate for DNS name "<host-id>.agent.left4me" and itself one for
// "controller.left4me", from certificate signing requests: the CA takes only the public key
// from a request and sets the name itself, from what it knows (the enrollment token's host),
// so a request cannot ask for another identity. Agents accept only clients whose certificate
// names the controller; the controller checks that an agent's certificate names the host it
// dialled. Keys and certificates travel as PEM.

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace l4d2::tls {

inline constexpr char kControllerName[] = "controller.left4me";
// "<host-id>.agent.left4me".
std::string AgentName(const std::string& host_id);

struct KeyAndRequest {
  std::string key_pem;      // PKCS#8 private key: keep it 0600
  std::string request_pem;  // the certificate signing request
};

// A new EC P-256 key and a signing request for it.
absl::StatusOr<KeyAndRequest> NewKeyAndRequest();

struct Validity {
  absl::Time not_before;
  absl::Time not_after;
};

class CertificateAuthority {
 public:
  // A new CA with a self-signed certificate.
  static absl::StatusOr<CertificateAuthority> Create(const std::string& common_name,
                                                     const Validity& validity);
  // A CA from its certificate and key; INVALID_ARGUMENT when they do not belong together.
  static absl::StatusOr<CertificateAuthority> Load(const std::string& certificate_pem,
                                                   const std::string& key_pem);

  const std::string& certificate_pem() const { return certificate_pem_; }
  const std::string& key_pem() const { return key_pem_; }

  // A certificate for `dns_name` (client and server use) over the key of `request_pem`, whose
  // own signature must verify. INVALID_ARGUMENT for a malformed or forged request.
  absl::StatusOr<std::string> Issue(const std::string& request_pem, const std::string& dns_name,
                                    const Validity& validity) const;

  // A new certificate for the key and name of `certificate_pem`, which this CA must have
  // issued (renewal: the holder keeps its key, so nothing it signs changes meaning).
  // INVALID_ARGUMENT for anything else.
  absl::StatusOr<std::string> Renew(const std::string& certificate_pem,
                                    const Validity& validity) const;

 private:
  CertificateAuthority(std::string certificate_pem, std::string key_pem)
      : certificate_pem_(std::move(certificate_pem)), key_pem_(std::move(key_pem)) {}

  std::string certificate_pem_;
  std::string key_pem_;
};

// A self-signed leaf certificate for `dns_name` over a new key: what an attacker without the
// CA could make (for tests of the rejection paths).
absl::StatusOr<std::pair<std::string, std::string>> SelfSignedCertificate(
    const std::string& dns_name, const Validity& validity);

}  // namespace l4d2::tls
