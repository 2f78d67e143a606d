#include "common/host_port.h"

#include "gtest/gtest.h"

namespace l4d2 {
namespace {

TEST(HostPortTest, SplitsNamesAddressesAndBracketedIpv6) {
  EXPECT_EQ(SplitHostPort("ctl.example:8444")->host, "ctl.example");
  EXPECT_EQ(SplitHostPort("ctl.example:8444")->port, 8444);
  EXPECT_EQ(SplitHostPort("127.0.0.1:0")->port, 0);
  EXPECT_EQ(SplitHostPort("[::1]:7543")->host, "::1");
  EXPECT_EQ(SplitHostPort("[2001:db8::1]:65535")->port, 65535);
  for (const char* bad :
       {"", "ctl", ":8444", "[]:8444", "ctl:", "ctl:x", "ctl:-1", "ctl:65536", "ctl:8444 "}) {
    EXPECT_FALSE(SplitHostPort(bad).has_value()) << bad;
  }
}

}  // namespace
}  // namespace l4d2
