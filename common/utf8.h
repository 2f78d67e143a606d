#pragma once

// UTF-8 as protobuf strings, JSON and journald readers need it.

#include <string>

#include "absl/strings/string_view.h"

namespace l4d2 {

// `text` with every byte sequence that is not well-formed UTF-8 (overlong forms, surrogates,
// truncated sequences, stray continuation bytes, above U+10FFFF) replaced by U+FFFD.
std::string SanitizeUtf8(absl::string_view text);

// At most `max_bytes` of `text` as well-formed UTF-8 (never cut inside a character), with
// "..." when it was cut: an excerpt of untrusted input fit for an error message.
std::string Utf8Excerpt(absl::string_view text, size_t max_bytes);

}  // namespace l4d2
