#pragma once

// Retention: what the controller keeps of its history, and the pruning that holds it there.
// Finished jobs (with their events), failed jobs (kept longer: they are what an operator looks
// for) and audit entries older than their policy are deleted in batches of `batch` rows, one
// short transaction each, so the writer is never held for long and the API keeps answering
// while a year of backlog goes. Running and queued jobs are never touched.
//
// With `export_dir`, every pruned row is first appended to a JSON-lines file there
// (jobs-YYYY-MM-DD.jsonl with each job's events, audit-YYYY-MM-DD.jsonl; dated by the day of
// the pruning, UTC) and flushed to disk before its batch is deleted: at least once (a batch
// whose delete fails is written again by the next pass), never lost.
//
// With several controllers on one database only the holder of the lease "retention" prunes.

#include <cstdint>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "controller/store/database.h"
#include "controller/store/leases.h"

namespace l4d2::controller {

struct RetentionPolicy {
  absl::Duration jobs = absl::Hours(24 * 30);         // succeeded and cancelled jobs
  absl::Duration failed_jobs = absl::Hours(24 * 90);  // failed jobs
  absl::Duration audit = absl::Hours(24 * 365);       // audit entries
  // Player sessions that ended, and servers' timelines (store/player_history.h); not exported.
  absl::Duration players = absl::Hours(24 * 90);
  int batch = 500;                              // rows deleted per transaction
  std::string export_dir;                       // "": pruned rows are not kept
  absl::Duration interval = absl::Minutes(10);  // between passes
  // The lease's owner (controller_process.h); empty: no lease (one controller).
  std::string owner;
};

struct PruneCounts {
  bool leader = true;  // false: another controller prunes
  int64_t jobs = 0;
  int64_t job_events = 0;
  int64_t audit = 0;
  int64_t player_rows = 0;  // sessions and timeline events
};

class Retention {
 public:
  // `db`, `clock` and `leases` (may be null without policy.owner) must outlive it.
  Retention(Database& db, Clock& clock, RetentionPolicy policy, LeaseStore* leases = nullptr);
  ~Retention();

  // Prunes everything due, batch by batch. The first error ends the pass (what was deleted
  // stays deleted).
  absl::StatusOr<PruneCounts> Prune();

  // A pass every interval on a thread of its own (the first after one interval), until Stop().
  void Start();
  void Stop();

 private:
  // One batch of jobs in `states` finished before `before`: exported, then deleted. How many
  // jobs it deleted (0: nothing more is due).
  absl::StatusOr<int64_t> PruneJobs(const char* states, absl::Time before, PruneCounts& counts);
  absl::StatusOr<int64_t> PruneAudit(absl::Time before);
  // Appends `lines` to <export_dir>/<kind>-<date>.jsonl and flushes them to disk.
  absl::Status Export(const std::string& kind, const std::string& lines);

  Database& db_;
  Clock& clock_;
  const RetentionPolicy policy_;
  LeaseStore* const leases_;
  absl::Mutex mutex_;
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  std::thread thread_;
};

}  // namespace l4d2::controller
