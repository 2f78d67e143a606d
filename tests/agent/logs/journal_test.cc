#include "agent/logs/journal.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace l4d2::agent {
namespace {

TEST(JournalTest, MakesALineFromAnEntry) {
  std::vector<v1::LogLine> lines =
      ToLogLines({.cursor = "s=791b;i=15f",
                  .realtime_usec = 1795305813938245,
                  .message = "Connection to Steam servers successful.\r\n",
                  .syslog_identifier = "srcds_run",
                  .comm = "srcds_linux"});
  ASSERT_EQ(lines.size(), 1u);
  const v1::LogLine& line = lines[0];
  EXPECT_EQ(line.text(), "Connection to Steam servers successful.");
  EXPECT_EQ(line.source(), "srcds_run");
  EXPECT_EQ(line.time().seconds(), 1795305813);
  EXPECT_EQ(line.time().nanos(), 938245000);
  EXPECT_EQ(line.cursor(), "s=791b;i=15f");
  EXPECT_EQ(ToLogLines({.comm = "srcds_linux"})[0].source(), "srcds_linux");
}

// The console forwarder writes the lines of one read as one entry, each with its newline.
TEST(JournalTest, AnEntryOfManyLinesGivesEachLineACursorToResumeAfter) {
  EXPECT_THAT(MessageLines("a\nb\r\n\nc\n"), ::testing::ElementsAre("a", "b", "", "c"));
  EXPECT_THAT(MessageLines("one"), ::testing::ElementsAre("one"));
  EXPECT_THAT(MessageLines("\n"), ::testing::ElementsAre(""));
  const JournalEntry entry{.cursor = "s=1;i=2", .message = "first\nsecond\nthird\n"};
  std::vector<v1::LogLine> lines = ToLogLines(entry);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0].text(), "first");
  EXPECT_EQ(lines[0].cursor(), "s=1;i=2;l=0");
  EXPECT_EQ(lines[1].cursor(), "s=1;i=2;l=1");
  EXPECT_EQ(lines[2].text(), "third");
  EXPECT_EQ(lines[2].cursor(), "s=1;i=2");  // the last line: the entry's own cursor
  // Resuming after the first line: the entry's cursor and one line seen.
  absl::StatusOr<LineCursor> inside = ParseLineCursor(lines[0].cursor());
  ASSERT_TRUE(inside.ok()) << inside.status();
  EXPECT_EQ(inside->journal_cursor, "s=1;i=2");
  EXPECT_EQ(inside->lines_seen, 1u);
  JournalEntry rest = entry;
  rest.skip_lines = inside->lines_seen;
  lines = ToLogLines(rest);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0].text(), "second");
  absl::StatusOr<LineCursor> whole = ParseLineCursor("s=1;i=2");
  ASSERT_TRUE(whole.ok());
  EXPECT_EQ(whole->journal_cursor, "s=1;i=2");
  EXPECT_EQ(whole->lines_seen, 0u);
  for (const char* bad : {"s=1;l=", "s=1;l=x", ";l=3", "s=1;l=-1"}) {
    EXPECT_FALSE(ParseLineCursor(bad).ok()) << bad;
  }
}

TEST(JournalTest, LinesKeepTheirBytesWhenTheyAreUtf8) {
  EXPECT_EQ(ToLogLines({.message = "hi\xff"})[0].text(), "hi\xef\xbf\xbd");
  EXPECT_EQ(ToLogLines({.message = std::string("a\0b", 3)})[0].text(), std::string("a\0b", 3));
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
