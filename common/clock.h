#pragma once

// The passage of time, injected. Production code takes a Clock& and never calls absl::Now()
// directly, so tests drive time with tests/fakes/fake_clock.h instead of sleeping.

#include "absl/time/time.h"

namespace l4d2 {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual absl::Time Now() const = 0;
  // Blocks the calling thread for `duration` of this clock's time.
  virtual void SleepFor(absl::Duration duration) = 0;

  // The process-wide real clock. Stateless, so sharing it is not hidden global state.
  static Clock& Real();
};

}  // namespace l4d2
