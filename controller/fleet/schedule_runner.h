#pragma once

// Queues the schedules' occurrences when they are due (docs/schedules.md): every `check` the
// holder of the "schedules" lease (store/leases.h, renewed like the reconciler's) reads the due
// schedules from their index and, for each, in one transaction: queues a "schedule.run" job
// (controller/jobs/schedule_run.h) with the definition as it is now, moves the schedule's next
// occurrence on with a compare-and-set on the one it found (ScheduleStore::Advance), and audits
// "schedule.run". Two controllers, or one killed between the two writes, never queue an
// occurrence twice: the second transaction finds the occurrence taken and rolls back.
//
// An occurrence found more than `late` after its time (every controller was down, the
// database was) follows the schedule's `missed`: "run_once" queues one run for the latest
// missed occurrence, "skip" queues none (audited "schedule.missed"); either way the next
// occurrence is the first after now, so nothing runs twice. A schedule whose owner is disabled
// does not run, nor one whose previous run is still going (both audited "schedule.skipped").

#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "controller/store/fleet_stores.h"

namespace l4d2::controller {

struct ScheduleRunnerOptions {
  absl::Duration check = absl::Seconds(10);
  // Later than this after its time, an occurrence counts as missed.
  absl::Duration late = absl::Minutes(1);
  // Occurrences taken per round at most (the rest at the next round).
  int batch = 100;
  std::string owner;  // this controller process (ProcessOwnerName)
};

struct ScheduleRound {
  bool leader = false;
  int queued = 0;   // runs queued
  int skipped = 0;  // occurrences missed and skipped, or of a disabled owner
};

class ScheduleRunner {
 public:
  // `stores` must outlive it.
  ScheduleRunner(FleetStores& stores, ScheduleRunnerOptions options);
  ~ScheduleRunner();

  // One round: the due occurrences, when this controller holds the lease.
  absl::StatusOr<ScheduleRound> Round();

  // Round() every `check` on a thread of its own (the first at once), until Stop(), which
  // gives the lease up.
  void Start();
  void Stop();

 private:
  FleetStores& stores_;
  const ScheduleRunnerOptions options_;
  bool held_ = false;  // Round's: whether this controller held the lease at its last round

  absl::Mutex mutex_;
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  std::thread thread_;
};

}  // namespace l4d2::controller
