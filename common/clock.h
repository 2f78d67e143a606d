#pragma once

// The passage of time, injected. Production code takes a Clock& and never reads the time
// directly, so tests drive time with tests/fakes/fake_clock.h instead of sleeping. The one
// exception is named: deadlines of real I/O (a gRPC call, a socket, a child process), which the
// kernel or gRPC enforce on the real clock whatever a test's clock says (RealDeadline).

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

// The real clock's time `timeout` from now, for a deadline that gRPC, a poll() or a child
// process wait enforces in real time. Never for a decision a test should drive (retries,
// schedules, expiry): those take a Clock&.
absl::Time RealDeadline(absl::Duration timeout);
// How long until a RealDeadline passes (negative once it has).
absl::Duration RealTimeLeft(absl::Time deadline);

}  // namespace l4d2
