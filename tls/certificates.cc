#include "tls/certificates.h"

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "tls/openssl_ptr.h"

namespace l4d2::tls {
namespace {

using internal::Bio;
using internal::Cert;
using internal::Key;
using internal::ReadCertificate;
using internal::ToTime;

std::string Serial(X509* cert) {
  BIGNUM* number = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr);
  if (number == nullptr) return "";
  char* hex = BN_bn2hex(number);
  std::string serial = hex != nullptr ? hex : "";
  OPENSSL_free(hex);
  BN_free(number);
  return serial;
}

std::string KeySha256(X509* cert) {
  unsigned char* der = nullptr;
  const int size = i2d_PUBKEY(X509_get0_pubkey(cert), &der);
  if (size <= 0) return "";
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(der, static_cast<size_t>(size), digest);
  OPENSSL_free(der);
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(digest), sizeof(digest)));
}

std::string CommonName(X509* cert) {
  char name[256] = {};
  if (X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, name, sizeof(name)) <=
      0) {
    return "";
  }
  return name;
}

}  // namespace

absl::StatusOr<CertificateFacts> InspectCertificate(const std::string& certificate_pem) {
  Cert cert = ReadCertificate(certificate_pem);
  if (cert == nullptr) return absl::InvalidArgumentError("tls: not a certificate");
  return CertificateFacts{.serial = Serial(cert.get()),
                          .not_before = ToTime(X509_get0_notBefore(cert.get())),
                          .not_after = ToTime(X509_get0_notAfter(cert.get())),
                          .common_name = CommonName(cert.get()),
                          .key_sha256 = KeySha256(cert.get())};
}

absl::StatusOr<std::string> CaPin(const std::string& ca_certificate_pem) {
  absl::StatusOr<CertificateFacts> facts = InspectCertificate(ca_certificate_pem);
  if (!facts.ok()) return facts.status();
  return "sha256:" + facts->key_sha256;
}

absl::Status CheckReplacement(const std::string& current_pem, const std::string& replacement_pem,
                              const std::string& key_pem, const std::string& ca_pem,
                              absl::Time now) {
  Cert current = ReadCertificate(current_pem);
  Cert replacement = ReadCertificate(replacement_pem);
  Cert ca = ReadCertificate(ca_pem);
  Bio key_bio(BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size())));
  Key key(PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr));
  if (current == nullptr || ca == nullptr || key == nullptr) {
    return absl::FailedPreconditionError(
        "tls: this agent's own certificate, key or CA is unreadable");
  }
  if (replacement == nullptr) return absl::InvalidArgumentError("tls: not a certificate");
  if (X509_verify(replacement.get(), X509_get0_pubkey(ca.get())) != 1) {
    return absl::InvalidArgumentError("tls: the certificate is not from this agent's fleet CA");
  }
  if (X509_check_private_key(replacement.get(), key.get()) != 1) {
    return absl::InvalidArgumentError("tls: the certificate is not for this agent's key");
  }
  if (CommonName(replacement.get()) != CommonName(current.get())) {
    return absl::InvalidArgumentError(absl::StrCat("tls: the certificate names '",
                                                   CommonName(replacement.get()), "', not '",
                                                   CommonName(current.get()), "'"));
  }
  const absl::Time not_before = ToTime(X509_get0_notBefore(replacement.get()));
  const absl::Time not_after = ToTime(X509_get0_notAfter(replacement.get()));
  if (now < not_before || now > not_after) {
    return absl::InvalidArgumentError("tls: the certificate is not valid now");
  }
  if (not_after <= ToTime(X509_get0_notAfter(current.get()))) {
    return absl::InvalidArgumentError("tls: the certificate expires no later than the current one");
  }
  return absl::OkStatus();
}

}  // namespace l4d2::tls
