#include "common/sha256.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "absl/strings/escaping.h"
#include "common/file_util.h"
#include "common/status_macros.h"

namespace l4d2 {

Sha256::Sha256() : context_(EVP_MD_CTX_new(), &EVP_MD_CTX_free) {
  EVP_DigestInit_ex(context_.get(), EVP_sha256(), nullptr);
}

void Sha256::Update(absl::string_view data) {
  EVP_DigestUpdate(context_.get(), data.data(), data.size());
}

std::string Sha256::HexDigest() {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_DigestFinal_ex(context_.get(), digest, &length);
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(digest), length));
}

bool IsSha256Hex(absl::string_view text) {
  return text.size() == 64 && text.find_first_not_of("0123456789abcdef") == absl::string_view::npos;
}

absl::StatusOr<std::string> Sha256OfFile(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return ErrnoError(errno, "open", path);
  Sha256 digest;
  char buffer[1 << 16];
  while (true) {
    L4D2_ASSIGN_OR_RETURN(size_t n, ReadSome(fd.get(), buffer, sizeof(buffer), path));
    if (n == 0) break;
    digest.Update(absl::string_view(buffer, n));
  }
  return digest.HexDigest();
}

}  // namespace l4d2
