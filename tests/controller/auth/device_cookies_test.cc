// Device cookies: signed for one account, verified by any controller sharing the secret,
// refused when forged, malformed or another account's.

#include "controller/auth/device_cookies.h"

#include "gtest/gtest.h"

namespace l4d2::controller {
namespace {

TEST(DeviceCookiesTest, SignedForOneAccountAndVerifiedWhereTheSecretIsShared) {
  const DeviceCookies here("the controllers' shared secret");
  const DeviceCookies there("the controllers' shared secret");
  const DeviceCookies other("another fleet");
  const std::string cookie = here.Issue("alice");
  std::optional<std::string> nonce = there.Verify(cookie, "alice");
  ASSERT_TRUE(nonce.has_value());
  EXPECT_EQ(nonce->size(), 32u);
  EXPECT_EQ(here.Verify(cookie, "alice"), nonce);
  EXPECT_NE(here.Issue("alice"), cookie);  // a fresh nonce each time
  EXPECT_FALSE(here.Verify(cookie, "bob").has_value());
  EXPECT_FALSE(other.Verify(cookie, "alice").has_value());
  std::string forged = cookie;
  forged[5] = forged[5] == 'a' ? 'b' : 'a';  // the nonce
  EXPECT_FALSE(here.Verify(forged, "alice").has_value());
  for (const char* bad :
       {"", "v1", "v1..", "v2.00000000000000000000000000000000.00", "alice", "v1.x.y.z"}) {
    EXPECT_FALSE(here.Verify(bad, "alice").has_value()) << bad;
  }
  // Without a secret the key is this process's own.
  EXPECT_FALSE(DeviceCookies("").Verify(DeviceCookies("").Issue("alice"), "alice").has_value());
  EXPECT_EQ(DeviceCookies::SetCookie("v", true),
            "l4d2_device=v; Path=/api/v1/session; Max-Age=31536000; HttpOnly; SameSite=Strict; "
            "Secure");
}

}  // namespace
}  // namespace l4d2::controller
