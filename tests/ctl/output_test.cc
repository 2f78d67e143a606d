#include "ctl/output.h"

#include "gtest/gtest.h"

namespace l4d2::ctl {
namespace {

TEST(OutputTest, BytesAreWrittenInBinaryUnitsWithOneDecimal) {
  EXPECT_EQ(HumanBytes(0), "0 B");
  EXPECT_EQ(HumanBytes(1023), "1023 B");
  EXPECT_EQ(HumanBytes(1536), "1.5 KiB");
  EXPECT_EQ(HumanBytes(uint64_t{439} << 20 | uint64_t{400} << 10), "439.4 MiB");
  EXPECT_EQ(HumanBytes(uint64_t{1} << 30), "1.0 GiB");
  EXPECT_EQ(HumanBytes(uint64_t{3} << 50), "3072.0 TiB");  // no unit above TiB
}

}  // namespace
}  // namespace l4d2::ctl
