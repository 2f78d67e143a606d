#include "common/logging.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace l4d2 {
namespace {

using ::testing::MatchesRegex;

TEST(LoggingTest, JournaldLinesCarryThePriorityPrefix) {
  EXPECT_EQ(FormatLogLineForTest(LogSeverity::kError, "/src/agent/main.cc", 12, "boom", true),
            "<3>main.cc:12] boom");
  EXPECT_EQ(FormatLogLineForTest(LogSeverity::kInfo, "x.cc", 1, "hi", true), "<6>x.cc:1] hi");
  EXPECT_EQ(FormatLogLineForTest(LogSeverity::kWarning, "x.cc", 1, "w", true), "<4>x.cc:1] w");
}

TEST(LoggingTest, TerminalLinesCarryATimestampAndSeverity) {
  EXPECT_THAT(FormatLogLineForTest(LogSeverity::kWarning, "a/b.cc", 7, "careful", false),
              MatchesRegex("[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z W b\\.cc:7\\] careful"));
}

TEST(LoggingTest, AMessageStaysOneLine) {
  EXPECT_EQ(FormatLogLineForTest(LogSeverity::kInfo, "x.cc", 1, "a\nforged\r", true),
            "<6>x.cc:1] a forged ");
}

TEST(LoggingTest, ParsesSeverities) {
  LogSeverity severity;
  ASSERT_TRUE(ParseLogSeverity("WARNING", &severity));
  EXPECT_EQ(severity, LogSeverity::kWarning);
  EXPECT_FALSE(ParseLogSeverity("verbose", &severity));
}

}  // namespace
}  // namespace l4d2
