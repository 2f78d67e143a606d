#pragma once

// Valve's KeyValues text format, as in steamapps/appmanifest_<app>.acf and the output of
// steamcmd +app_info_print:
//
//   "AppState"
//   {
//     "appid"    "222860"
//     "buildid"  "12345678"
//     "UserConfig" { "language" "english" }
//   }
//
// Tokens are quoted strings (with \" \\ \n \t escapes) or bare words; `//` starts a comment.
// Keys compare case-insensitively, as Valve's own reader does. Pure functions of text.

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace l4d2::agent {

struct KeyValues {
  std::string key;
  // Set for a leaf ("key" "value"); empty for a section.
  std::string value;
  bool is_section = false;
  std::vector<KeyValues> children;

  // The first child with `key` (ASCII case-insensitive), or nullptr.
  const KeyValues* Find(absl::string_view key) const;
  // Follows a path of keys from this node, or nullptr.
  const KeyValues* FindPath(absl::Span<const absl::string_view> path) const;
};

// Parses a sequence of top-level entries into an unnamed root section. INVALID_ARGUMENT with
// the line number on malformed text, on nesting deeper than 32, or above 16 MiB.
absl::StatusOr<KeyValues> ParseKeyValues(absl::string_view text);

// The "buildid" of an appmanifest_<app>.acf. INVALID_ARGUMENT when absent or not a number.
absl::StatusOr<std::string> ParseAppManifestBuildId(absl::string_view text);

}  // namespace l4d2::agent
