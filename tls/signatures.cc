#include "tls/signatures.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <ctime>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "tls/openssl_ptr.h"
#include "tls/pki.h"

namespace l4d2::tls {
namespace {

using internal::Bio;
using internal::Cert;
using internal::DigestContext;
using internal::Names;
using internal::ReadCertificate;
using internal::ToTime;

std::shared_ptr<EVP_PKEY> Shared(EVP_PKEY* key) { return {key, EVP_PKEY_free}; }

// The bytes a signature covers: the context keeps signatures for one purpose from passing as
// another's.
bool Digest(EVP_MD_CTX* context, absl::string_view purpose, absl::string_view message,
            bool signing) {
  const unsigned char zero = 0;
  auto update = signing ? EVP_DigestSignUpdate : EVP_DigestVerifyUpdate;
  return update(context, purpose.data(), purpose.size()) == 1 && update(context, &zero, 1) == 1 &&
         update(context, message.data(), message.size()) == 1;
}

}  // namespace

absl::StatusOr<Signer> Signer::FromKeyPem(const std::string& key_pem) {
  Bio bio(BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size())));
  EVP_PKEY* key = PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr);
  if (key == nullptr) return absl::InvalidArgumentError("tls: not a private key");
  return Signer(Shared(key));
}

absl::StatusOr<std::string> Signer::Sign(absl::string_view context,
                                         absl::string_view message) const {
  DigestContext digest(EVP_MD_CTX_new());
  size_t size = 0;
  if (digest == nullptr ||
      EVP_DigestSignInit(digest.get(), nullptr, EVP_sha256(), nullptr, key_.get()) != 1 ||
      !Digest(digest.get(), context, message, /*signing=*/true) ||
      EVP_DigestSignFinal(digest.get(), nullptr, &size) != 1) {
    return absl::InternalError("tls: signing failed");
  }
  std::string signature(size, '\0');
  if (EVP_DigestSignFinal(digest.get(), reinterpret_cast<unsigned char*>(signature.data()),
                          &size) != 1) {
    return absl::InternalError("tls: signing failed");
  }
  signature.resize(size);
  return signature;
}

absl::StatusOr<Verifier> Verifier::FromCertificate(const std::string& certificate_pem,
                                                   absl::Time now) {
  Cert cert = ReadCertificate(certificate_pem);
  if (cert == nullptr) return absl::InvalidArgumentError("tls: not a certificate");
  const absl::Time not_before = ToTime(X509_get0_notBefore(cert.get()));
  const absl::Time not_after = ToTime(X509_get0_notAfter(cert.get()));
  if (now < not_before || now > not_after) {
    return absl::FailedPreconditionError(absl::StrCat("tls: the certificate is valid from ",
                                                      absl::FormatTime(not_before), " to ",
                                                      absl::FormatTime(not_after)));
  }
  EVP_PKEY* key = X509_get_pubkey(cert.get());
  if (key == nullptr) return absl::InvalidArgumentError("tls: the certificate has no key");
  return Verifier(Shared(key), not_after);
}

bool Verifier::Verify(absl::string_view context, absl::string_view message,
                      absl::string_view signature) const {
  DigestContext digest(EVP_MD_CTX_new());
  return digest != nullptr &&
         EVP_DigestVerifyInit(digest.get(), nullptr, EVP_sha256(), nullptr, key_.get()) == 1 &&
         Digest(digest.get(), context, message, /*signing=*/false) &&
         EVP_DigestVerifyFinal(digest.get(),
                               reinterpret_cast<const unsigned char*>(signature.data()),
                               signature.size()) == 1;
}

absl::StatusOr<std::string> AgentHostId(const std::string& certificate_pem) {
  Cert cert = ReadCertificate(certificate_pem);
  if (cert == nullptr) return absl::InvalidArgumentError("tls: not a certificate");
  Names names(static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(cert.get(), NID_subject_alt_name, nullptr, nullptr)));
  const std::string suffix = AgentName("");
  for (int i = 0; names != nullptr && i < sk_GENERAL_NAME_num(names.get()); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names.get(), i);
    if (name->type != GEN_DNS) continue;
    const ASN1_IA5STRING* dns = name->d.dNSName;
    const std::string text(reinterpret_cast<const char*>(ASN1_STRING_get0_data(dns)),
                           static_cast<size_t>(ASN1_STRING_length(dns)));
    if (text.size() > suffix.size() && absl::EndsWith(text, suffix) && text[0] != '*') {
      return text.substr(0, text.size() - suffix.size());
    }
  }
  return absl::InvalidArgumentError("tls: the certificate names no agent host");
}

}  // namespace l4d2::tls
