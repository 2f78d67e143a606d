#pragma once

// Passwords: argon2id hashes in libsodium's self-describing string form
// ("$argon2id$v=19$m=...,t=...,p=...$salt$hash"), so costs can rise later without migrating
// old hashes. Verification is libsodium's (constant time in the hash).

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace l4d2::controller {

struct PasswordCost {
  // libsodium's "interactive" limits by default (64 MiB, a few tenths of a second).
  unsigned long long ops;
  size_t memory_bytes;
  static PasswordCost Interactive();
  // The least libsodium allows: for tests only.
  static PasswordCost Minimal();
};

// 12 to 1024 bytes without NUL; INVALID_ARGUMENT says which rule failed.
absl::Status ValidatePassword(absl::string_view password);

// INTERNAL when libsodium cannot hash (out of memory).
absl::StatusOr<std::string> HashPassword(absl::string_view password, const PasswordCost& cost);

bool VerifyPassword(const std::string& hash, absl::string_view password);

}  // namespace l4d2::controller
