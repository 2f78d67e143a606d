#include "agent/fleet/enrollment.h"

#include <sys/stat.h>

#include <filesystem>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/file_util.h"
#include "common/status_macros.h"
#include "google/protobuf/util/json_util.h"
#include "l4d2/controller/v1/enrollment.pb.h"
#include "tls/certificates.h"
#include "tls/pki.h"

namespace l4d2::agent {

absl::StatusOr<EnrolledFiles> Enroll(HttpFetcher& fetcher, const std::string& controller_url,
                                     const std::string& token, const std::string& directory,
                                     const std::string& ca_pin) {
  const std::string token_text(absl::StripAsciiWhitespace(token));
  if (token_text.empty()) return absl::InvalidArgumentError("enroll: no token given");
  L4D2_ASSIGN_OR_RETURN(tls::KeyAndRequest request, tls::NewKeyAndRequest());
  controller::v1::EnrollRequest enroll;
  enroll.set_token(token_text);
  enroll.set_certificate_request(request.request_pem);
  std::string body;
  (void)google::protobuf::util::MessageToJsonString(enroll, &body);
  std::string url(absl::StripSuffix(controller_url, "/"));
  L4D2_ASSIGN_OR_RETURN(std::string reply, fetcher.PostJson(absl::StrCat(url, "/api/v1/enroll"),
                                                            body, 1 << 20, absl::Seconds(30)));
  controller::v1::EnrollResponse enrolled;
  if (!google::protobuf::util::JsonStringToMessage(reply, &enrolled).ok() ||
      enrolled.certificate().empty() || enrolled.ca_certificate().empty()) {
    return absl::UnavailableError("enroll: the controller's answer is not an enrollment");
  }
  if (!ca_pin.empty()) {
    absl::StatusOr<std::string> pin = tls::CaPin(enrolled.ca_certificate());
    if (!pin.ok() || *pin != ca_pin) {
      return absl::FailedPreconditionError(absl::StrCat("enroll: the controller's CA (",
                                                        pin.ok() ? *pin : "unreadable",
                                                        ") is not the one pinned (", ca_pin,
                                                        "): is something between this host and the "
                                                        "controller? Nothing was written"));
    }
  }
  std::error_code error;
  std::filesystem::create_directories(directory, error);
  if (error) return ErrnoError(error.value(), "create", directory);
  ::chmod(directory.c_str(), 0700);
  EnrolledFiles files{.host_id = enrolled.host_id(),
                      .certificate = directory + "/agent.pem",
                      .key = directory + "/agent.key",
                      .ca = directory + "/ca.pem",
                      .report_to = enrolled.report_to(),
                      .address = enrolled.address()};
  L4D2_RETURN_IF_ERROR(WriteFileAtomically(files.key, request.key_pem, 0600));
  L4D2_RETURN_IF_ERROR(WriteFileAtomically(files.certificate, enrolled.certificate(), 0644));
  L4D2_RETURN_IF_ERROR(WriteFileAtomically(files.ca, enrolled.ca_certificate(), 0644));
  return files;
}

}  // namespace l4d2::agent
