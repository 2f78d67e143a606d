#include "controller/fleet/periodic_round.h"

#include "common/clock.h"
#include "common/logging.h"
#include "common/status_macros.h"

namespace l4d2::controller {

PeriodicRound::PeriodicRound(LeaseStore& leases, Clock& clock, PeriodicRoundOptions options,
                             Work work)
    : leases_(leases), clock_(clock), options_(std::move(options)), work_(std::move(work)) {}

PeriodicRound::~PeriodicRound() { Stop(); }

absl::StatusOr<std::optional<std::string>> PeriodicRound::Look() {
  const absl::Time now = clock_.Now();
  if (now < next_) return std::nullopt;
  L4D2_ASSIGN_OR_RETURN(bool taken,
                        leases_.TryAcquire(options_.lease, options_.owner, options_.interval));
  next_ = now + (taken ? options_.interval : options_.check);
  if (!taken) return std::nullopt;
  return work_();
}

void PeriodicRound::Start() {
  thread_ = std::thread([this] {
    absl::MutexLock lock(&mutex_);
    do {
      mutex_.Unlock();
      absl::StatusOr<std::optional<std::string>> done = Look();
      if (!done.ok()) {
        L4D2_LOG(WARNING) << options_.lease << ": " << done.status().message();
      } else if (done->has_value() && !(*done)->empty()) {
        L4D2_LOG(INFO) << options_.lease << ": " << **done;
      }
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
