#include "common/names.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace l4d2 {
namespace {

TEST(ValidateInstanceNameTest, AcceptsValidNames) {
  for (const char* name : {"s1", "0", "coop-1", "a_b-c", "versus_2024"}) {
    EXPECT_TRUE(ValidateInstanceName(name).ok()) << name;
  }
  EXPECT_TRUE(ValidateInstanceName(std::string(64, 'a')).ok());
}

// Hostile names: each must be rejected as INVALID_ARGUMENT. The list is also used for refs.
std::vector<std::string> HostileValues() {
  std::vector<std::string> values = {
      "",
      "..",
      ".",
      "/",
      "/etc",
      "../x",
      "a/../b",
      "a/./b",
      "a//b",
      "a/",
      "/a",
      "%2e%2e",
      "%2e%2e/x",
      "..%2f",
      "a\\b",
      "a\nb",
      "a\rb",
      "a\tb",
      std::string("a\0b", 3),
      "a,b",
      "a:b",
      "a=b",
      "a;b",
      "a b",
      " a",
      "a ",
      "\"a\"",
      "'a'",
      "a$b",
      "$(id)",
      "`id`",
      "a|b",
      "a&b",
      "a>b",
      "a<b",
      "a*b",
      "a?b",
      "a[b]",
      "a{b}",
      "~",
      "~root",
      "A",
      "Server",
      "-a",
      "_a",
      ".a",
      "a\x7f",
      "\xd0\xb0",                  // Cyrillic 'a'.
      "\xef\xbc\x8e\xef\xbc\x8e",  // Fullwidth dots.
      "\xe2\x80\xa4\xe2\x80\xa4",  // One dot leaders.
      "a\xe2\x80\x8b"
      "b",                 // Zero-width space.
      "\xc0\xae\xc0\xae",  // Overlong dots.
      std::string(300, 'a'),
      std::string(5000, 'b'),
      "+exec",
      "-insecure",
      "a\x01",
      "\x1b[31m",
      "a#b",
      "a@b",
      "a!b",
      "a^b",
      "a%b",
      "A/b",
      "a/B",
      "a/b c",
      "/etc/passwd",
      "../../etc/passwd",
      "..\\..\\x",
      "a/../../b",
      "a/%2e%2e/b",
      "a/b/",
      "//a",
      "a/\n",
      "\xe2\x81\x84",
      "a\xe2\x88\x95"
      "b",  // Fraction slash, division slash.
  };
  // Every non-ASCII byte, inside an otherwise valid value.
  for (int c = 0x80; c < 0x100; c += 3) values.push_back(std::string("ab") + static_cast<char>(c));
  // Every printable ASCII character outside the allowed set, alone and inside a name.
  for (int c = 0x20; c < 0x7f; ++c) {
    char ch = static_cast<char>(c);
    bool allowed = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' ||
                   ch == '.' || ch == '/';
    if (!allowed) values.push_back(std::string("ab") + ch + "cd");
  }
  for (int c = 1; c < 0x20; ++c) values.push_back(std::string("x") + static_cast<char>(c));
  return values;
}

TEST(ValidateInstanceNameTest, RejectsHostileNames) {
  std::vector<std::string> values = HostileValues();
  values.push_back("a.b");
  values.push_back("a/b");
  values.push_back(std::string(65, 'a'));
  ASSERT_GE(values.size(), 200u);
  for (const std::string& value : values) {
    absl::Status status = ValidateInstanceName(value);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << "accepted: " << value;
  }
}

TEST(ValidateInstanceNameTest, MessagesEscapeTheValue) {
  absl::Status status = ValidateInstanceName("a\nb");
  EXPECT_THAT(status.message(), ::testing::HasSubstr("'a\\nb'"));
  EXPECT_EQ(status.message().find('\n'), absl::string_view::npos);
}

TEST(ValidateOverlayRefTest, AcceptsValidRefs) {
  for (const char* ref : {"standard", "competitive/base", "users/42/maps", "a.b/c-d_e", "1"}) {
    EXPECT_TRUE(ValidateOverlayRef(ref).ok()) << ref;
  }
}

TEST(ValidateOverlayRefTest, RejectsHostileRefs) {
  std::vector<std::string> values = HostileValues();
  values.push_back("a/b/c/d/e/f/g/h/i");  // 9 components.
  values.push_back("a/.hidden");
  values.push_back("a/..");
  for (const std::string& value : values) {
    EXPECT_EQ(ValidateOverlayRef(value).code(), absl::StatusCode::kInvalidArgument)
        << "accepted: " << value;
  }
}

}  // namespace
}  // namespace l4d2
