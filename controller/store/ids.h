#pragma once

// Identifiers and secrets made by the controller, so that several controllers need no shared
// sequence.

#include <cstddef>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace l4d2::controller {

// `bytes` random bytes from libsodium's CSPRNG, as lower-case hex (tokens, opaque ids).
std::string RandomHex(size_t bytes);

// How a secret (enrollment token, session id, API token) is kept at rest: SHA-256 as hex. The
// secrets are random and long, so a plain hash is enough and lets a lookup use an index.
std::string SecretHash(absl::string_view secret);

// An id that sorts in creation order: 16 hex digits of Unix microseconds, 8 of a counter for
// ids of this process within one microsecond, and 8 random hex digits.
std::string TimeOrderedId(absl::Time now);

}  // namespace l4d2::controller
