#pragma once

// The agent's side of enrollment (controller/fleet/enrollment.h): a new key that never leaves
// the host, a signing request for it, the one-time token, POST /api/v1/enroll to the controller;
// the certificate and the fleet CA that come back are written next to the key, ready for
// listen.tls.

#include <string>

#include "absl/status/statusor.h"
#include "common/http/http_fetcher.h"

namespace l4d2::agent {

struct EnrolledFiles {
  std::string host_id;
  std::string certificate;  // paths
  std::string key;
  std::string ca;
  std::string report_to;  // the controller's report address (config report.to); may be empty
  std::string address;    // host:port the controller dials this agent at
};

// Enrolls at `controller_url` ("https://controller:8080") and writes agent.pem, agent.key
// (0600) and ca.pem into `directory` (created 0700). UNAUTHENTICATED when the controller
// refuses the token; with `ca_pin` ("sha256:<hex>", tls::CaPin), FAILED_PRECONDITION when the
// CA the controller sent is not that one (someone in between: nothing is trusted). Nothing is
// written on any error.
absl::StatusOr<EnrolledFiles> Enroll(HttpFetcher& fetcher, const std::string& controller_url,
                                     const std::string& token, const std::string& directory,
                                     const std::string& ca_pin = "");

}  // namespace l4d2::agent
