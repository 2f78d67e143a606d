#include "controller/store/ids.h"

#include <sodium.h>

#include <cstdint>

#include "absl/base/const_init.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"

namespace l4d2::controller {

std::string RandomHex(size_t bytes) {
  // sodium_init is idempotent and thread-safe; randombytes work even if it reports an error.
  static const int initialised = sodium_init();
  (void)initialised;
  std::string raw(bytes, '\0');
  randombytes_buf(raw.data(), raw.size());
  return absl::BytesToHexString(raw);
}

std::string SecretHash(absl::string_view secret) {
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(secret.data()), secret.size());
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(digest), sizeof(digest)));
}

std::string TimeOrderedId(absl::Time now) {
  static absl::Mutex mutex(absl::kConstInit);
  static int64_t last_micros = 0;
  static uint32_t counter = 0;
  int64_t micros = absl::ToUnixMicros(now);
  uint32_t sequence = 0;
  {
    absl::MutexLock lock(&mutex);
    if (micros <= last_micros) {
      micros = last_micros;
      ++counter;
    } else {
      last_micros = micros;
      counter = 0;
    }
    sequence = counter;
  }
  return absl::StrFormat("%016x%08x%s", micros, sequence, RandomHex(4));
}

}  // namespace l4d2::controller
