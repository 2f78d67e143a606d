#pragma once

// Digests of overlay downloads.

#include <string>

#include "absl/status/statusor.h"

namespace l4d2::agent {

// Lower-case hex SHA-256 of a file's content (OpenSSL's EVP).
absl::StatusOr<std::string> Sha256OfFile(const std::string& path);

}  // namespace l4d2::agent
