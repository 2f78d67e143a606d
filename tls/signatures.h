#pragma once

// Signatures by the fleet's keys, for what travels outside TLS: a host's reports to its
// controllers (proto/l4d2/agent/v1/report.proto). The agent signs with the key it enrolled
// with; the controller verifies with the public key of the certificate it issued for that
// host, so a report can come only from the host it names. Every signature covers a context
// string before the message, so that a signature made for one purpose is never valid for
// another. ECDSA P-256 with SHA-256 (the fleet's keys, tls/pki.h). Both classes are immutable
// and safe to use from several threads.

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

typedef struct evp_pkey_st EVP_PKEY;

namespace l4d2::tls {

class Signer {
 public:
  // INVALID_ARGUMENT when `key_pem` is not a private key.
  static absl::StatusOr<Signer> FromKeyPem(const std::string& key_pem);

  // A DER signature of `context`, a zero byte, and `message`.
  absl::StatusOr<std::string> Sign(absl::string_view context, absl::string_view message) const;

 private:
  explicit Signer(std::shared_ptr<EVP_PKEY> key) : key_(std::move(key)) {}
  std::shared_ptr<EVP_PKEY> key_;
};

class Verifier {
 public:
  // The public key of `certificate_pem`, for as long as the certificate is valid.
  // INVALID_ARGUMENT for anything but a certificate; FAILED_PRECONDITION when it is not valid
  // at `now` (expired or not yet valid).
  static absl::StatusOr<Verifier> FromCertificate(const std::string& certificate_pem,
                                                  absl::Time now);

  // Whether `signature` is this key's over `context`, a zero byte, and `message`.
  bool Verify(absl::string_view context, absl::string_view message,
              absl::string_view signature) const;
  absl::Time not_after() const { return not_after_; }

 private:
  Verifier(std::shared_ptr<EVP_PKEY> key, absl::Time not_after)
      : key_(std::move(key)), not_after_(not_after) {}
  std::shared_ptr<EVP_PKEY> key_;
  absl::Time not_after_;
};

// The host id an agent certificate names ("<host-id>.agent.left4me", tls/pki.h);
// INVALID_ARGUMENT when it names none.
absl::StatusOr<std::string> AgentHostId(const std::string& certificate_pem);

}  // namespace l4d2::tls
