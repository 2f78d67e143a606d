#include "common/clock.h"

#include "absl/time/clock.h"

namespace l4d2 {
namespace {

class RealClock final : public Clock {
 public:
  absl::Time Now() const override { return absl::Now(); }
  void SleepFor(absl::Duration duration) override { absl::SleepFor(duration); }
};

}  // namespace

Clock& Clock::Real() {
  static RealClock* clock = new RealClock();
  return *clock;
}

absl::Time RealDeadline(absl::Duration timeout) { return absl::Now() + timeout; }

absl::Duration RealTimeLeft(absl::Time deadline) { return deadline - absl::Now(); }

}  // namespace l4d2
