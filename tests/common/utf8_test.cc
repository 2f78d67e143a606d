// UTF-8 made well-formed, and excerpts of untrusted input that stay so.

#include "common/utf8.h"

#include "gtest/gtest.h"

namespace l4d2 {
namespace {

TEST(Utf8Test, InvalidSequencesBecomeTheReplacementCharacter) {
  EXPECT_EQ(SanitizeUtf8("hi\xff"), "hi\xef\xbf\xbd");
  EXPECT_EQ(SanitizeUtf8("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"),
            "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
  // Overlong '/', a lone surrogate, a truncated sequence, a stray continuation byte.
  EXPECT_EQ(SanitizeUtf8("\xc0\xaf"), "\xef\xbf\xbd\xef\xbf\xbd");
  EXPECT_EQ(SanitizeUtf8("\xed\xa0\x80"), "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
  EXPECT_EQ(SanitizeUtf8("a\xe2\x82"), "a\xef\xbf\xbd\xef\xbf\xbd");
  EXPECT_EQ(SanitizeUtf8("\x80z"), "\xef\xbf\xbdz");
}

TEST(Utf8Test, ExcerptsAreCutBetweenCharacters) {
  EXPECT_EQ(Utf8Excerpt("short", 10), "short");
  EXPECT_EQ(Utf8Excerpt("0123456789abc", 10), "0123456789...");
  // "é" is two bytes: a cut after its first byte backs off before it.
  EXPECT_EQ(Utf8Excerpt("abcdefghi\xc3\xa9z", 10), "abcdefghi...");
  EXPECT_EQ(Utf8Excerpt("\xc0\xaf\xc0\xaf", 4), "\xef\xbf\xbd...");
}

}  // namespace
}  // namespace l4d2
