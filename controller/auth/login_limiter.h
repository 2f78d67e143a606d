#pragma once

// Rate limits on password logins (security.md): failed attempts are counted per account and
// per client address in a sliding window; past either limit, logins for that account or from
// that address are refused until the oldest failure leaves the window, even with the right
// password, so guessing cannot outrun the limit. A successful login clears its account's
// count (not its address's: one attacker with one good account must not reset the address).
//
// A client with a device cookie for the account (device_cookies.h: it signed in as that account
// before) is counted apart: its failures count against its device alone (per_device), and the
// account's and address's counts do not stop it, so others' failures cannot lock the account's
// real user out. The account limit stops only clients without one.
//
// In memory, per controller process: with several controllers each counts its own attempts
// (the limits then hold per controller). The number of tracked keys is bounded; past the
// bound the least recently failed keys are forgotten. Thread-safe.

#include <cstddef>
#include <deque>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"

namespace l4d2::controller {

struct LoginLimits {
  int per_account = 5;
  int per_address = 20;
  int per_device = 10;
  absl::Duration window = absl::Minutes(15);
  size_t max_tracked = 100000;
};

class LoginLimiter {
 public:
  // `clock` must outlive the limiter.
  LoginLimiter(Clock& clock, LoginLimits limits = {});

  // RESOURCE_EXHAUSTED, with when to try again, when the account or the address is over its
  // limit (or, with `device`, the device cookie's nonce for this account, that device); OK
  // otherwise.
  absl::Status Check(const std::string& account, const std::string& address,
                     const std::string& device = "");
  void RecordFailure(const std::string& account, const std::string& address,
                     const std::string& device = "");
  void RecordSuccess(const std::string& account, const std::string& device = "");

 private:
  struct Failures {
    std::deque<absl::Time> times;  // oldest first, at most the key's limit
  };
  // When the key may try again (InfinitePast: now).
  absl::Time BlockedUntil(const std::string& key, int limit, absl::Time now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  void Add(const std::string& key, int limit, absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);

  Clock& clock_;
  const LoginLimits limits_;
  absl::Mutex mutex_;
  absl::flat_hash_map<std::string, Failures> failures_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace l4d2::controller
