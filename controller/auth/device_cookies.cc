#include "controller/auth/device_cookies.h"

#include <sodium.h>

#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace l4d2::controller {
namespace {

constexpr absl::string_view kDomain = "left4me device cookies v1";

}  // namespace

DeviceCookies::DeviceCookies(absl::string_view secret) {
  if (sodium_init() < 0) abort();
  if (secret.empty()) {
    randombytes_buf(key_, sizeof(key_));
    return;
  }
  // HMAC-SHA256(secret, domain): a key of its own, not the secret itself.
  crypto_auth_hmacsha256_state state;
  crypto_auth_hmacsha256_init(&state, reinterpret_cast<const unsigned char*>(secret.data()),
                              secret.size());
  crypto_auth_hmacsha256_update(&state, reinterpret_cast<const unsigned char*>(kDomain.data()),
                                kDomain.size());
  crypto_auth_hmacsha256_final(&state, key_);
}

std::string DeviceCookies::Sign(absl::string_view account, absl::string_view nonce) const {
  const std::string message = absl::StrCat("v1.", absl::AsciiStrToLower(account), ".", nonce);
  unsigned char mac[crypto_auth_hmacsha256_BYTES];
  crypto_auth_hmacsha256(mac, reinterpret_cast<const unsigned char*>(message.data()),
                         message.size(), key_);
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(mac), sizeof(mac)));
}

std::string DeviceCookies::Issue(absl::string_view account) const {
  unsigned char random[16];
  randombytes_buf(random, sizeof(random));
  const std::string nonce =
      absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(random), 16));
  return absl::StrCat("v1.", nonce, ".", Sign(account, nonce));
}

std::optional<std::string> DeviceCookies::Verify(absl::string_view value,
                                                 absl::string_view account) const {
  std::vector<absl::string_view> parts = absl::StrSplit(value, '.');
  if (parts.size() != 3 || parts[0] != "v1" || parts[1].size() != 32 || parts[2].size() != 64) {
    return std::nullopt;
  }
  const std::string expected = Sign(account, parts[1]);
  if (sodium_memcmp(expected.data(), parts[2].data(), expected.size()) != 0) return std::nullopt;
  return std::string(parts[1]);
}

std::string DeviceCookies::SetCookie(const std::string& value, bool secure) {
  return absl::StrCat(kName, "=", value,
                      "; Path=/api/v1/session; Max-Age=31536000; HttpOnly; SameSite=Strict",
                      secure ? "; Secure" : "");
}

}  // namespace l4d2::controller
