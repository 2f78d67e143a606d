#pragma once

// SHA-256 digests (OpenSSL's EVP), as lower-case hex: of overlay downloads and of backup
// archives.

#include <openssl/evp.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace l4d2 {

// A digest fed piece by piece (as an archive is written).
class Sha256 {
 public:
  Sha256();
  void Update(absl::string_view data);
  // The digest of everything fed; the object is spent.
  std::string HexDigest();

 private:
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> context_;
};

// Lower-case hex SHA-256 of a file's content.
// Whether `text` is a SHA-256 as HexDigest writes it: 64 lowercase hex digits.
bool IsSha256Hex(absl::string_view text);

absl::StatusOr<std::string> Sha256OfFile(const std::string& path);

}  // namespace l4d2
