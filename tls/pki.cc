#include "tls/pki.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>

#include "absl/strings/str_cat.h"
#include "tls/openssl_ptr.h"

namespace l4d2::tls {
namespace {

using internal::Bio;
using internal::Cert;
using internal::Key;
using internal::ReadCertificate;
using internal::Request;

absl::Status Error(absl::string_view what) {
  return absl::InternalError(absl::StrCat("tls: ", what));
}

std::string BioText(BIO* bio) {
  char* data = nullptr;
  long size = BIO_get_mem_data(bio, &data);
  return size > 0 ? std::string(data, static_cast<size_t>(size)) : "";
}

Bio Reader(const std::string& pem) {
  return Bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
}

absl::StatusOr<Key> NewKey() {
  Key key(EVP_EC_gen("P-256"));
  if (key == nullptr) return Error("cannot generate an EC P-256 key");
  return key;
}

std::string KeyPem(EVP_PKEY* key) {
  Bio bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
  return BioText(bio.get());
}

std::string CertPem(X509* cert) {
  Bio bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(bio.get(), cert);
  return BioText(bio.get());
}

absl::Status AddExtension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX context;
  X509V3_set_ctx_nodb(&context);
  X509V3_set_ctx(&context, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* extension = X509V3_EXT_conf_nid(nullptr, &context, nid, value);
  if (extension == nullptr) return Error(absl::StrCat("extension ", value));
  X509_add_ext(cert, extension, -1);
  X509_EXTENSION_free(extension);
  return absl::OkStatus();
}

// A certificate for `name` over `public_key`, signed by `issuer_key`; self-signed when `issuer`
// is null.
absl::StatusOr<Cert> MakeCertificate(const std::string& name, EVP_PKEY* public_key, X509* issuer,
                                     EVP_PKEY* issuer_key, bool ca, const Validity& validity) {
  Cert cert(X509_new());
  X509_set_version(cert.get(), 2);
  // 127 random bits: unique serial numbers without a counter to keep.
  unsigned char serial[16];
  RAND_bytes(serial, sizeof(serial));
  serial[0] &= 0x7f;
  BIGNUM* number = BN_bin2bn(serial, sizeof(serial), nullptr);
  BN_to_ASN1_INTEGER(number, X509_get_serialNumber(cert.get()));
  BN_free(number);
  ASN1_TIME_set(X509_getm_notBefore(cert.get()), absl::ToTimeT(validity.not_before));
  ASN1_TIME_set(X509_getm_notAfter(cert.get()), absl::ToTimeT(validity.not_after));
  X509_NAME* subject = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(name.c_str()), -1, -1, 0);
  X509_set_issuer_name(cert.get(), issuer != nullptr ? X509_get_subject_name(issuer) : subject);
  X509_set_pubkey(cert.get(), public_key);
  X509* signer = issuer != nullptr ? issuer : cert.get();
  absl::Status status;
  if (ca) {
    status.Update(AddExtension(cert.get(), signer, NID_basic_constraints, "critical,CA:TRUE"));
    status.Update(AddExtension(cert.get(), signer, NID_key_usage, "critical,keyCertSign,cRLSign"));
  } else {
    status.Update(AddExtension(cert.get(), signer, NID_basic_constraints, "critical,CA:FALSE"));
    status.Update(
        AddExtension(cert.get(), signer, NID_key_usage, "critical,digitalSignature,keyAgreement"));
    status.Update(AddExtension(cert.get(), signer, NID_ext_key_usage, "serverAuth,clientAuth"));
    status.Update(
        AddExtension(cert.get(), signer, NID_subject_alt_name, absl::StrCat("DNS:", name).c_str()));
  }
  status.Update(AddExtension(cert.get(), signer, NID_subject_key_identifier, "hash"));
  if (!status.ok()) return status;
  if (X509_sign(cert.get(), issuer_key, EVP_sha256()) == 0) return Error("signing failed");
  return cert;
}

}  // namespace

std::string AgentName(const std::string& host_id) { return host_id + ".agent.left4me"; }

absl::StatusOr<KeyAndRequest> NewKeyAndRequest() {
  absl::StatusOr<Key> key = NewKey();
  if (!key.ok()) return key.status();
  Request request(X509_REQ_new());
  X509_REQ_set_version(request.get(), 0);
  X509_REQ_set_pubkey(request.get(), key->get());
  if (X509_REQ_sign(request.get(), key->get(), EVP_sha256()) == 0) return Error("signing a CSR");
  Bio bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509_REQ(bio.get(), request.get());
  return KeyAndRequest{.key_pem = KeyPem(key->get()), .request_pem = BioText(bio.get())};
}

absl::StatusOr<CertificateAuthority> CertificateAuthority::Create(const std::string& common_name,
                                                                  const Validity& validity) {
  absl::StatusOr<Key> key = NewKey();
  if (!key.ok()) return key.status();
  absl::StatusOr<Cert> cert =
      MakeCertificate(common_name, key->get(), nullptr, key->get(), /*ca=*/true, validity);
  if (!cert.ok()) return cert.status();
  return CertificateAuthority(CertPem(cert->get()), KeyPem(key->get()));
}

absl::StatusOr<CertificateAuthority> CertificateAuthority::Load(const std::string& certificate_pem,
                                                                const std::string& key_pem) {
  Bio cert_bio = Reader(certificate_pem);
  Cert cert(PEM_read_bio_X509(cert_bio.get(), nullptr, nullptr, nullptr));
  Bio key_bio = Reader(key_pem);
  Key key(PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr));
  if (cert == nullptr || key == nullptr || X509_check_private_key(cert.get(), key.get()) != 1) {
    return absl::InvalidArgumentError("tls: the CA certificate and key do not belong together");
  }
  return CertificateAuthority(certificate_pem, key_pem);
}

absl::StatusOr<std::string> CertificateAuthority::Issue(const std::string& request_pem,
                                                        const std::string& dns_name,
                                                        const Validity& validity) const {
  Bio request_bio = Reader(request_pem);
  Request request(PEM_read_bio_X509_REQ(request_bio.get(), nullptr, nullptr, nullptr));
  if (request == nullptr) return absl::InvalidArgumentError("tls: not a certificate request");
  Key public_key(X509_REQ_get_pubkey(request.get()));
  if (public_key == nullptr || X509_REQ_verify(request.get(), public_key.get()) != 1) {
    return absl::InvalidArgumentError("tls: the request's signature does not verify");
  }
  Bio cert_bio = Reader(certificate_pem_);
  Cert ca(PEM_read_bio_X509(cert_bio.get(), nullptr, nullptr, nullptr));
  Bio key_bio = Reader(key_pem_);
  Key ca_key(PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr));
  if (ca == nullptr || ca_key == nullptr) return Error("the CA does not load");
  absl::StatusOr<Cert> cert = MakeCertificate(dns_name, public_key.get(), ca.get(), ca_key.get(),
                                              /*ca=*/false, validity);
  if (!cert.ok()) return cert.status();
  return CertPem(cert->get());
}

absl::StatusOr<std::string> CertificateAuthority::Renew(const std::string& certificate_pem,
                                                        const Validity& validity) const {
  Cert old = ReadCertificate(certificate_pem);
  Cert ca = ReadCertificate(certificate_pem_);
  Bio key_bio = Reader(key_pem_);
  Key ca_key(PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr));
  if (ca == nullptr || ca_key == nullptr) return Error("the CA does not load");
  if (old == nullptr) return absl::InvalidArgumentError("tls: not a certificate");
  if (X509_verify(old.get(), ca_key.get()) != 1) {
    return absl::InvalidArgumentError("tls: the certificate is not this CA's");
  }
  const X509_NAME* subject = X509_get_subject_name(old.get());
  char name[256] = {};
  if (X509_NAME_get_text_by_NID(const_cast<X509_NAME*>(subject), NID_commonName, name,
                                sizeof(name)) <= 0) {
    return absl::InvalidArgumentError("tls: the certificate names nothing");
  }
  absl::StatusOr<Cert> cert = MakeCertificate(name, X509_get0_pubkey(old.get()), ca.get(),
                                              ca_key.get(), /*ca=*/false, validity);
  if (!cert.ok()) return cert.status();
  return CertPem(cert->get());
}

absl::StatusOr<std::pair<std::string, std::string>> SelfSignedCertificate(
    const std::string& dns_name, const Validity& validity) {
  absl::StatusOr<Key> key = NewKey();
  if (!key.ok()) return key.status();
  absl::StatusOr<Cert> cert =
      MakeCertificate(dns_name, key->get(), nullptr, key->get(), /*ca=*/false, validity);
  if (!cert.ok()) return cert.status();
  return std::make_pair(CertPem(cert->get()), KeyPem(key->get()));
}

}  // namespace l4d2::tls
