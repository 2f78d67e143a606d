#include "agent/logs/journal.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace l4d2::agent {
namespace {

using ::testing::Contains;

// `journalctl -o json --output-fields=MESSAGE,SYSLOG_IDENTIFIER,_COMM` (systemd 252).
constexpr char kLine[] =
    R"({"__CURSOR":"s=791b067648ed41539fef8ca4b2b066d2;i=15f;b=64da9e00475d49d1a48f57e856d2394c;m=83fee7f;t=660d212322305;x=bbe0a7dfef345900","__REALTIME_TIMESTAMP":"1795305813938245","__MONOTONIC_TIMESTAMP":"138407551","_BOOT_ID":"64da9e00475d49d1a48f57e856d2394c","SYSLOG_IDENTIFIER":"srcds_run","_COMM":"srcds_linux","MESSAGE":"Connection to Steam servers successful."})";

TEST(JournalTest, ParsesAnEntry) {
  absl::StatusOr<v1::LogLine> line = ParseJournalJsonLine(kLine);
  ASSERT_TRUE(line.ok()) << line.status();
  EXPECT_EQ(line->text(), "Connection to Steam servers successful.");
  EXPECT_EQ(line->source(), "srcds_run");
  EXPECT_EQ(line->time().seconds(), 1795305813);
  EXPECT_EQ(line->time().nanos(), 938245000);
  EXPECT_THAT(line->cursor(), ::testing::StartsWith("s=791b0676"));
}

TEST(JournalTest, DecodesBinaryMessagesAndRejectsGarbage) {
  absl::StatusOr<v1::LogLine> line =
      ParseJournalJsonLine(R"({"__CURSOR":"s=1","MESSAGE":[104,105,255,10]})");
  ASSERT_TRUE(line.ok());
  EXPECT_EQ(line->text(), "hi\xff");
  EXPECT_FALSE(ParseJournalJsonLine("not json").ok());
  EXPECT_FALSE(ParseJournalJsonLine(R"({"MESSAGE":"no cursor"})").ok());
}

TEST(JournalTest, BuildsTheCommandLineAndRefusesForgedCursors) {
  absl::StatusOr<std::vector<std::string>> args =
      JournalctlArguments({.unit = "left4me-server@s1.service", .lines = 50, .follow = true});
  ASSERT_TRUE(args.ok());
  EXPECT_THAT(*args, Contains("--unit=left4me-server@s1.service"));
  EXPECT_THAT(*args, Contains("--lines=50"));
  EXPECT_THAT(*args, Contains("--follow"));
  EXPECT_TRUE(JournalctlArguments({.unit = "u", .after_cursor = "s=abc;i=15f;b=0"}).ok());
  for (const char* cursor : {"--since=yesterday", "s=1 --file=/etc/shadow", "x\ny"}) {
    EXPECT_EQ(JournalctlArguments({.unit = "u", .after_cursor = cursor}).status().code(),
              absl::StatusCode::kInvalidArgument)
        << cursor;
  }
}

}  // namespace
}  // namespace l4d2::agent
