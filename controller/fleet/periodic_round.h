#pragma once

// Work done once per interval across controllers and restarts (the Workshop refresh, the game
// update check): the round belongs to whoever holds its lease (store/leases.h), taken for the
// whole interval and never renewed, so another controller, or this one restarted (a new owner
// name), cannot take it before the interval has passed; a round due while every controller was
// down runs once, at the first look after start.

#include <functional>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "controller/store/leases.h"

namespace l4d2::controller {

struct PeriodicRoundOptions {
  std::string lease;  // its name, e.g. "workshop_refresh"
  absl::Duration interval = absl::Hours(24);
  // How often a controller looks whether the round is due (and whether another took it).
  absl::Duration check = absl::Minutes(1);
  std::string owner;  // this controller process (ProcessOwnerName)
};

class PeriodicRound {
 public:
  // `leases` and `clock` must outlive it.
  PeriodicRound(LeaseStore& leases, Clock& clock, PeriodicRoundOptions options);
  ~PeriodicRound();

  // Whether the round is due and this controller just took it (then the caller does it).
  absl::StatusOr<bool> Take();

  // Calls `look` every `check` on a thread of its own (the first at once), until Stop(); `look`
  // calls Take() and does the round when it says so.
  void Start(std::function<void()> look);
  void Stop();

 private:
  LeaseStore& leases_;
  Clock& clock_;
  const PeriodicRoundOptions options_;
  absl::Time next_ = absl::InfinitePast();  // Take's: before it, the round is not due here

  absl::Mutex mutex_;
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  std::thread thread_;
};

}  // namespace l4d2::controller
