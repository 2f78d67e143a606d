#include "agent/os/proc_parsers.h"

#include "gtest/gtest.h"

namespace l4d2::agent {
namespace {

constexpr char kMeminfo[] = R"(MemTotal:       24683928 kB
MemFree:        23802708 kB
MemAvailable:   24175496 kB
Buffers:           20772 kB
Cached:           603808 kB
HugePages_Total:       0
Hugepagesize:       2048 kB
)";

TEST(ProcParsersTest, ParsesMeminfo) {
  absl::StatusOr<MemoryFacts> facts = ParseMeminfo(kMeminfo);
  ASSERT_TRUE(facts.ok());
  EXPECT_EQ(facts->total_bytes, 24683928ull * 1024);
  EXPECT_EQ(facts->available_bytes, 24175496ull * 1024);
}

TEST(ProcParsersTest, MeminfoWithoutAvailableIsInvalid) {
  EXPECT_EQ(ParseMeminfo("MemTotal: 10 kB\n").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(ProcParsersTest, ParsesLoadavg) {
  absl::StatusOr<double> load = ParseLoadavg("0.52 0.58 0.59 1/389 12345\n");
  ASSERT_TRUE(load.ok());
  EXPECT_DOUBLE_EQ(*load, 0.52);
  EXPECT_FALSE(ParseLoadavg("").ok());
}

}  // namespace
}  // namespace l4d2::agent
