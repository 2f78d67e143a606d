#pragma once

// Hostile names and refs for validation tests: traversal, absolute paths, encoded dots,
// separators, control characters, look-alike Unicode, over-long values, option-looking words,
// and every printable ASCII character outside the allowed set. More than 200 values; none is
// a valid instance name or overlay ref.

#include <string>
#include <vector>

namespace l4d2::testing {

// Hostile names: each must be rejected as INVALID_ARGUMENT. The list is also used for refs.
inline std::vector<std::string> HostileValues() {
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

}  // namespace l4d2::testing
