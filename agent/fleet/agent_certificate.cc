#include "agent/fleet/agent_certificate.h"

#include "absl/strings/str_cat.h"
#include "common/file_util.h"
#include "common/status_macros.h"

namespace l4d2::agent {
namespace {

absl::StatusOr<std::string> ReadOwn(const std::string& path) {
  absl::StatusOr<std::string> text = ReadFileToString(path, 1 << 20);
  if (!text.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("this agent's TLS files: ", text.status().message()));
  }
  return text;
}

}  // namespace

absl::StatusOr<tls::CertificateFacts> AgentCertificate::Install(
    const std::string& certificate_pem) {
  absl::MutexLock lock(&mutex_);
  L4D2_ASSIGN_OR_RETURN(const std::string current, ReadOwn(files_.certificate));
  L4D2_ASSIGN_OR_RETURN(const std::string key, ReadOwn(files_.key));
  L4D2_ASSIGN_OR_RETURN(const std::string ca, ReadOwn(files_.ca));
  L4D2_RETURN_IF_ERROR(tls::CheckReplacement(current, certificate_pem, key, ca, clock_.Now()));
  L4D2_ASSIGN_OR_RETURN(tls::CertificateFacts facts, tls::InspectCertificate(certificate_pem));
  L4D2_RETURN_IF_ERROR(WriteFileAtomically(files_.certificate, certificate_pem, 0644));
  return facts;
}

}  // namespace l4d2::agent
