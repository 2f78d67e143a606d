#pragma once

// The controller's PKI on disk, in a directory of its own (mode 0700):
//   ca.pem, ca.key                    the fleet CA (10 years), made at the first start
//   controller.pem, controller.key    the controller's certificate (1 year), issued again when
//                                     less than 30 days are left
// Keys are written 0600, atomically.

#include <string>

#include "absl/status/statusor.h"
#include "tls/pki.h"

namespace l4d2::tls {

struct ControllerPki {
  CertificateAuthority ca;
  std::string controller_certificate_pem;
  std::string controller_key_pem;
};

absl::StatusOr<ControllerPki> LoadOrCreateControllerPki(const std::string& directory);

}  // namespace l4d2::tls
