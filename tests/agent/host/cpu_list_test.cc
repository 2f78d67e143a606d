#include "agent/host/cpu_list.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace l4d2::agent {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(CpuListTest, ParsesTheKernelsListsAndWritesTheShortestForm) {
  EXPECT_THAT(*ParseCpuList("0-3,6"), ElementsAre(0, 1, 2, 3, 6));
  EXPECT_THAT(*ParseCpuList("5\n"), ElementsAre(5));
  EXPECT_TRUE(ParseCpuList("")->empty());
  EXPECT_EQ(FormatCpuList({0, 1, 2, 3, 6, 8, 9}), "0-3,6,8-9");
  EXPECT_EQ(FormatCpuList({}), "");
  for (const char* bad : {"a", "1-", "-1", "3-1", "1,,2", "4096", "0x1", "1 2", "+1"}) {
    EXPECT_FALSE(ParseCpuList(bad).ok()) << bad;
  }
}

TEST(CpuListTest, ReservesTheSystemsCoresAndLeavesTheRestToServers) {
  // auto: CPU 0 from 4 CPUs up; a 2-core host keeps both for its servers.
  EXPECT_EQ(*ServerCpus("0-7", "auto"), "1-7");
  EXPECT_EQ(*ServerCpus("0-3", "auto"), "1-3");
  EXPECT_EQ(*ServerCpus("0-1", "auto"), "");
  EXPECT_EQ(*ServerCpus("0-7", "none"), "");
  EXPECT_EQ(*ServerCpus("0-7", "0-1"), "2-7");
  EXPECT_EQ(*ServerCpus("0-7", "0,4"), "1-3,5-7");
  // A reserved CPU that is offline reserves nothing more.
  EXPECT_EQ(*ServerCpus("0-3", "9"), "0-3");
  absl::StatusOr<std::string> none_left = ServerCpus("0-1", "0-1");
  ASSERT_FALSE(none_left.ok());
  EXPECT_THAT(none_left.status().message(), HasSubstr("leaves none for the game servers"));
  EXPECT_FALSE(ServerCpus("0-3", "first").ok());
}

}  // namespace
}  // namespace l4d2::agent
