#pragma once

// Device cookies (OWASP, "Slow Down Online Guessing Attacks with Device Cookies"): a browser or
// client that signed in to an account before carries a cookie, signed by the controller, that
// names the account and a random nonce. Failed sign-ins of such a device count against that
// device alone (LoginLimiter), so failures from anywhere else, which lock the account for
// clients without one, cannot lock its real user out.
//
// Value: "v1.<nonce, 32 hex>.<HMAC-SHA256 of 'v1.' + account + '.' + nonce, 64 hex>". The key is
// derived from a secret the controllers of one fleet share (the controller's key in pki_dir),
// so a cookie from one controller holds on the others and across restarts.

#include <optional>
#include <string>

#include "absl/strings/string_view.h"

namespace l4d2::controller {

class DeviceCookies {
 public:
  // The signing key is derived from `secret` ("" makes a random one: cookies then hold for
  // this process only).
  explicit DeviceCookies(absl::string_view secret);

  // A new cookie value for `account` (a fresh nonce each time).
  std::string Issue(absl::string_view account) const;
  // The cookie's nonce when `value` is a cookie this key signed for `account`; nullopt for
  // anything else (another account's, forged, malformed).
  std::optional<std::string> Verify(absl::string_view value, absl::string_view account) const;

  // The cookie's name and its Set-Cookie header value (a year, HttpOnly, SameSite=Strict, sent
  // only to the sign-in route).
  static constexpr char kName[] = "l4d2_device";
  static std::string SetCookie(const std::string& value, bool secure);

 private:
  std::string Sign(absl::string_view account, absl::string_view nonce) const;

  unsigned char key_[32];
};

}  // namespace l4d2::controller
