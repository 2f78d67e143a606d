#include "agent/logs/journal.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace l4d2::agent {
namespace {

TEST(JournalTest, MakesALineFromAnEntry) {
  v1::LogLine line = ToLogLine({.cursor = "s=791b;i=15f",
                                .realtime_usec = 1795305813938245,
                                .message = "Connection to Steam servers successful.\r\n",
                                .syslog_identifier = "srcds_run",
                                .comm = "srcds_linux"});
  EXPECT_EQ(line.text(), "Connection to Steam servers successful.");
  EXPECT_EQ(line.source(), "srcds_run");
  EXPECT_EQ(line.time().seconds(), 1795305813);
  EXPECT_EQ(line.time().nanos(), 938245000);
  EXPECT_EQ(line.cursor(), "s=791b;i=15f");
  EXPECT_EQ(ToLogLine({.comm = "srcds_linux"}).source(), "srcds_linux");
}

TEST(JournalTest, InvalidUtf8BecomesTheReplacementCharacter) {
  EXPECT_EQ(SanitizeUtf8("hi\xff"), "hi\xef\xbf\xbd");
  EXPECT_EQ(SanitizeUtf8("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"),
            "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
  // Overlong '/', a lone surrogate, a truncated sequence, a stray continuation byte.
  EXPECT_EQ(SanitizeUtf8("\xc0\xaf"), "\xef\xbf\xbd\xef\xbf\xbd");
  EXPECT_EQ(SanitizeUtf8("\xed\xa0\x80"), "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
  EXPECT_EQ(SanitizeUtf8("a\xe2\x82"), "a\xef\xbf\xbd\xef\xbf\xbd");
  EXPECT_EQ(SanitizeUtf8("\x80z"), "\xef\xbf\xbdz");
  EXPECT_EQ(ToLogLine({.message = std::string("a\0b", 3)}).text(), std::string("a\0b", 3));
}

TEST(JournalTest, RefusesForgedCursors) {
  EXPECT_TRUE(ValidateJournalCursor(
                  "s=791b067648ed41539fef8ca4b2b066d2;i=15f;b=64da9e00475d49d1a48f57e856d2394c;"
                  "m=83fee7f;t=660d212322305;x=bbe0a7dfef345900")
                  .ok());
  for (const char* cursor : {"", "--since=yesterday", "s=1 --file=/etc/shadow", "x\ny", "S=1"}) {
    EXPECT_EQ(ValidateJournalCursor(cursor).code(), absl::StatusCode::kInvalidArgument) << cursor;
  }
}

}  // namespace
}  // namespace l4d2::agent
