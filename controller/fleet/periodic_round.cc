#include "controller/fleet/periodic_round.h"

#include "common/clock.h"
#include "common/status_macros.h"

namespace l4d2::controller {

PeriodicRound::PeriodicRound(LeaseStore& leases, Clock& clock, PeriodicRoundOptions options)
    : leases_(leases), clock_(clock), options_(std::move(options)) {}

PeriodicRound::~PeriodicRound() { Stop(); }

absl::StatusOr<bool> PeriodicRound::Take() {
  const absl::Time now = clock_.Now();
  if (now < next_) return false;
  L4D2_ASSIGN_OR_RETURN(bool taken,
                        leases_.TryAcquire(options_.lease, options_.owner, options_.interval));
  next_ = now + (taken ? options_.interval : options_.check);
  return taken;
}

void PeriodicRound::Start(std::function<void()> look) {
  thread_ = std::thread([this, look = std::move(look)] {
    absl::MutexLock lock(&mutex_);
    do {
      mutex_.Unlock();
      look();
      mutex_.Lock();
    } while (!mutex_.AwaitWithDeadline(absl::Condition(&stopping_), RealDeadline(options_.check)));
  });
}

void PeriodicRound::Stop() {
  {
    absl::MutexLock lock(&mutex_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

}  // namespace l4d2::controller
