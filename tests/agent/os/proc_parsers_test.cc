#include "agent/os/proc_parsers.h"

#include "gmock/gmock.h"
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

// Real table lines (tcp: a listener on 27015, a connection from 27016 and one on 22; udp:
// bound to 27015 and 27017).
constexpr char kTcp[] =
    "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout "
    "inode\n"
    "   0: 00000000:6987 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 "
    "21813 1 0000000000000000 100 0 0 10 0\n"
    "   1: 0100007F:6988 0100007F:1F90 01 00000000:00000000 00:00000000 00000000  1000        0 "
    "39131 1 0000000000000000 20 4 30 10 -1\n"
    "   2: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 "
    "17893 1 0000000000000000 100 0 0 10 0\n";
constexpr char kUdp6[] =
    "  sl  local_address                         remote_address                        st "
    "tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n"
    "  120: 00000000000000000000000000000000:6987 00000000000000000000000000000000:0000 07 "
    "00000000:00000000 00:00000000 00000000     0        0 22001 2 0000000000000000 0\n"
    "  121: 00000000000000000000000001000000:6989 00000000000000000000000000000000:0000 07 "
    "00000000:00000000 00:00000000 00000000     0        0 22002 2 0000000000000000 0\n";

TEST(ProcParsersTest, SocketTablesGiveTheBoundPortsInARange) {
  std::vector<int> ports;
  ASSERT_TRUE(AppendSocketPorts(kTcp, /*listening_only=*/true, 27000, 28000, ports).ok());
  EXPECT_THAT(ports, ::testing::ElementsAre(27015));
  ports.clear();
  ASSERT_TRUE(AppendSocketPorts(kTcp, /*listening_only=*/false, 1, 65535, ports).ok());
  EXPECT_THAT(ports, ::testing::ElementsAre(27015, 27016, 22));
  ports.clear();
  ASSERT_TRUE(AppendSocketPorts(kUdp6, /*listening_only=*/false, 27015, 27016, ports).ok());
  EXPECT_THAT(ports, ::testing::ElementsAre(27015));
  ASSERT_TRUE(AppendSocketPorts("header only\n", false, 1, 65535, ports).ok());
  EXPECT_EQ(AppendSocketPorts("header\n   0: garbage\n", false, 1, 65535, ports).code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace l4d2::agent
