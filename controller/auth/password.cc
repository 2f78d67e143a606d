#include "controller/auth/password.h"

#include <sodium.h>

#include <mutex>

namespace l4d2::controller {
namespace {

bool SodiumReady() {
  static const bool ready = sodium_init() >= 0;
  return ready;
}

}  // namespace

PasswordCost PasswordCost::Interactive() {
  return {crypto_pwhash_argon2id_OPSLIMIT_INTERACTIVE, crypto_pwhash_argon2id_MEMLIMIT_INTERACTIVE};
}

PasswordCost PasswordCost::Minimal() {
  return {crypto_pwhash_argon2id_OPSLIMIT_MIN, crypto_pwhash_argon2id_MEMLIMIT_MIN};
}

absl::Status ValidatePassword(absl::string_view password) {
  if (password.size() < 12) {
    return absl::InvalidArgumentError("password: at least 12 characters");
  }
  if (password.size() > 1024) return absl::InvalidArgumentError("password: at most 1024 bytes");
  if (password.find('\0') != absl::string_view::npos) {
    return absl::InvalidArgumentError("password: no NUL bytes");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> HashPassword(absl::string_view password, const PasswordCost& cost) {
  if (!SodiumReady()) return absl::InternalError("libsodium did not initialise");
  char hash[crypto_pwhash_argon2id_STRBYTES];
  if (crypto_pwhash_argon2id_str(hash, password.data(), password.size(), cost.ops,
                                 cost.memory_bytes) != 0) {
    return absl::InternalError("password hashing failed (out of memory)");
  }
  return std::string(hash);
}

bool VerifyPassword(const std::string& hash, absl::string_view password) {
  return SodiumReady() &&
         crypto_pwhash_argon2id_str_verify(hash.c_str(), password.data(), password.size()) == 0;
}

}  // namespace l4d2::controller
