#include "tls/ca_files.h"

#include <sys/stat.h>

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/clock.h"
#include "common/file_util.h"
#include "common/status_macros.h"
#include "tls/certificates.h"

namespace l4d2::tls {
namespace {

// Whether the controller's own certificate is readable and valid for 30 days more: else it
// gets a new one at this start.
bool OwnCertificateLastsAMonth(const std::string& certificate_pem) {
  absl::StatusOr<CertificateFacts> facts = InspectCertificate(certificate_pem);
  return facts.ok() && facts->not_after - Clock::Real().Now() > absl::Hours(24 * 30);
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
  if (own_cert_pem.ok() && own_key_pem.ok() && OwnCertificateLastsAMonth(*own_cert_pem)) {
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
