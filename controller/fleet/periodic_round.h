#pragma once

// Work done once per interval across controllers and restarts (the Workshop refresh, the game
// update check): the round belongs to whoever holds its lease (store/leases.h), taken for the
// whole interval and never renewed, so another controller, or this one restarted (a new owner
// name), cannot take it before the interval has passed; a round due while every controller was
// down runs once, at the first look after start.

#include <functional>
#include <optional>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "controller/store/leases.h"

namespace l4d2::controller {

struct PeriodicRoundOptions {
  std::string lease;  // its name, e.g. "workshop_refresh"; also the log lines' prefix
  absl::Duration interval = absl::Hours(24);
  // How often a controller looks whether the round is due (and whether another took it).
  absl::Duration check = absl::Minutes(1);
  std::string owner;  // this controller process (ProcessOwnerName)
};

class PeriodicRound {
 public:
  // The round's work, done by the controller that took it: what it did, for the log ("" when
  // nothing is worth a line).
  using Work = std::function<absl::StatusOr<std::string>()>;

  // `leases` and `clock` must outlive it.
  PeriodicRound(LeaseStore& leases, Clock& clock, PeriodicRoundOptions options, Work work);
  ~PeriodicRound();

  // Does the work when the round is due and this controller just took it: what it did;
  // nullopt when not due here (not yet, or another controller's round).
  absl::StatusOr<std::optional<std::string>> Look();

  // Look() every `check` on a thread of its own (the first at once), logging what a round
  // did or why it failed, until Stop().
  void Start();
  void Stop();

 private:
  LeaseStore& leases_;
  Clock& clock_;
  const PeriodicRoundOptions options_;
  const Work work_;
  absl::Time next_ = absl::InfinitePast();  // Look's: before it, the round is not due here

  absl::Mutex mutex_;
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  std::thread thread_;
};

}  // namespace l4d2::controller
