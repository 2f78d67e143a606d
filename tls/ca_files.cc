#include "tls/ca_files.h"

#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sys/stat.h>

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/clock.h"
#include "common/file_util.h"
#include "common/status_macros.h"

namespace l4d2::tls {
namespace {

// Seconds of validity `certificate_pem` has left; negative when unreadable or expired.
int64_t SecondsLeft(const std::string& certificate_pem) {
  BIO* bio = BIO_new_mem_buf(certificate_pem.data(), static_cast<int>(certificate_pem.size()));
  X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  if (cert == nullptr) return -1;
  int days = 0, seconds = 0;
  const bool ok = ASN1_TIME_diff(&days, &seconds, nullptr, X509_get0_notAfter(cert)) == 1;
  X509_free(cert);
  return ok ? int64_t{days} * 86400 + seconds : -1;
}

}  // namespace

absl::StatusOr<ControllerPki> LoadOrCreateControllerPki(const std::string& directory) {
  std::error_code error;
  std::filesystem::create_directories(directory, error);
  if (error) return ErrnoError(error.value(), "create", directory);
  ::chmod(directory.c_str(), 0700);
  const std::string ca_cert = directory + "/ca.pem";
  const std::string ca_key = directory + "/ca.key";
  absl::StatusOr<std::string> cert_pem = ReadFileToString(ca_cert, 1 << 20);
  absl::StatusOr<std::string> key_pem = ReadFileToString(ca_key, 1 << 20);
  absl::StatusOr<CertificateAuthority> ca = absl::NotFoundError("");
  if (cert_pem.ok() && key_pem.ok()) {
    ca = CertificateAuthority::Load(*cert_pem, *key_pem);
  } else if (absl::IsNotFound(cert_pem.status()) && absl::IsNotFound(key_pem.status())) {
    // Certificates are checked against real clocks wherever they go.
    const absl::Time now = Clock::Real().Now();
    ca = CertificateAuthority::Create(
        "left4me fleet CA",
        {.not_before = now - absl::Hours(1), .not_after = now + absl::Hours(24 * 3650)});
    if (ca.ok()) {
      L4D2_RETURN_IF_ERROR(WriteFileAtomically(ca_key, ca->key_pem(), 0600));
      L4D2_RETURN_IF_ERROR(WriteFileAtomically(ca_cert, ca->certificate_pem(), 0644));
    }
  } else {
    return absl::FailedPreconditionError(
        absl::StrCat("the CA in '", directory, "' is incomplete: ca.pem and ca.key go together"));
  }
  if (!ca.ok()) return ca.status();
  ControllerPki pki{.ca = *std::move(ca)};
  const std::string own_cert = directory + "/controller.pem";
  const std::string own_key = directory + "/controller.key";
  absl::StatusOr<std::string> own_cert_pem = ReadFileToString(own_cert, 1 << 20);
  absl::StatusOr<std::string> own_key_pem = ReadFileToString(own_key, 1 << 20);
  if (own_cert_pem.ok() && own_key_pem.ok() && SecondsLeft(*own_cert_pem) > 30 * 86400) {
    pki.controller_certificate_pem = *std::move(own_cert_pem);
    pki.controller_key_pem = *std::move(own_key_pem);
    return pki;
  }
  L4D2_ASSIGN_OR_RETURN(KeyAndRequest request, NewKeyAndRequest());
  const absl::Time now = Clock::Real().Now();
  L4D2_ASSIGN_OR_RETURN(
      std::string issued,
      pki.ca.Issue(request.request_pem, kControllerName,
                   {.not_before = now - absl::Hours(1), .not_after = now + absl::Hours(24 * 365)}));
  L4D2_RETURN_IF_ERROR(WriteFileAtomically(own_key, request.key_pem, 0600));
  L4D2_RETURN_IF_ERROR(WriteFileAtomically(own_cert, issued, 0644));
  pki.controller_certificate_pem = std::move(issued);
  pki.controller_key_pem = std::move(request.key_pem);
  return pki;
}

}  // namespace l4d2::tls
