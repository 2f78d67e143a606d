#pragma once

// The controller's durable job queue, in SQL (table `jobs`, events in `job_events`), shared by
// every controller on the database.
//
// A job is queued, then claimed by one worker with a lease (owner + expiry), renewed while it
// runs, and ended as succeeded, failed or cancelled. A job may name a lock key ("server:<id>",
// "install:<host>"): at most one job per key runs at a time, enforced by a unique partial index
// whoever claims. A worker that dies loses its lease; the next claim puts the job back in the
// queue (or fails it when its attempts are used up). Transient failures are retried with
// exponential backoff up to max_attempts. Times are Unix milliseconds from the Clock. Ids sort
// in creation order; claims take the oldest due jobs first.
//
// Claiming takes rows with FOR UPDATE SKIP LOCKED on PostgreSQL; on SQLite the database's one
// writer serializes claims. Thread-safe.

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "common/clock.h"
#include "controller/store/database.h"
#include "controller/store/page.h"

namespace l4d2::controller {

enum class JobState { kQueued, kRunning, kSucceeded, kFailed, kCancelled };

// "queued", "running", ...
const char* JobStateName(JobState state);

struct NewJob {
  std::string kind;        // e.g. "server.start"
  std::string lock_key;    // "" for none
  std::string params;      // JSON
  std::string created_by;  // user id, or "system"
  int max_attempts = 5;
  absl::Time not_before = absl::InfinitePast();  // default: now
};

struct Job {
  std::string id;
  std::string kind;
  JobState state = JobState::kQueued;
  std::string lock_key;
  std::string params;
  int attempt = 0;  // claims so far
  int max_attempts = 0;
  absl::Time not_before;
  std::string lease_owner;
  absl::Time lease_expires;
  bool cancel_requested = false;
  std::string created_by;
  absl::Time created_at;
  std::string result;
  absl::Status error;  // of the last failed attempt
  // Bumped by every change the API shows (not lease renewals): migration 12.
  int64_t revision = 0;
};

// How a held job's attempt ends, for JobQueue::Write.
struct JobEnding {
  std::string id;
  std::string owner;
  JobState state = JobState::kSucceeded;  // kQueued: retry at not_before, when attempts remain
  std::string result;                     // of a succeeded job
  absl::Status error;                     // of a failed, cancelled or retried attempt
  absl::Time not_before;                  // of a retry
  // With state kQueued: a run parked between its steps (a wait, or jobs of its own to end),
  // back in the queue until not_before without using an attempt; `result` is its progress,
  // given to its next claim as Job::result. Cancelled instead when a user asked meanwhile.
  bool park = false;
};

struct NewJobEvent {
  std::string job_id;
  std::string kind;
  std::string data;
};

// What a lease renewal found of one job.
struct LeaseCheck {
  bool held = false;  // false: the lease expired and the job went back to the queue
  bool cancel_requested = false;
};

struct JobEvent {
  int64_t seq = 0;
  absl::Time at;
  std::string kind;  // "progress", "log", "state", ...
  std::string data;
};

// Which jobs JobQueue::List returns, newest first.
struct JobListQuery {
  // A user id: only their jobs and those of their servers. "" for every job.
  std::string visible_to;
  std::string kind;               // "" for any
  std::optional<JobState> state;  // any when unset
  std::string lock_key;           // "server:<id>", "install:<host>"; "" for any
  std::string before_id;          // a page's cursor: jobs older than this one
  int limit = 100;                // 1 to 1,000
};

class JobQueue {
 public:
  // `db` and `clock` must outlive the queue.
  JobQueue(Database& db, Clock& clock);

  // The new job's id. INVALID_ARGUMENT for an empty kind or max_attempts < 1.
  absl::StatusOr<std::string> Enqueue(const NewJob& job);
  // Many jobs within the caller's transaction on `sql`, all due at their not_before and in
  // the queue in the order given. Their ids, in order. INVALID_ARGUMENT as Enqueue (none is
  // queued then).
  absl::StatusOr<std::vector<std::string>> Enqueue(soci::session& sql,
                                                   absl::Span<const NewJob> jobs);

  // Claims up to `max` due jobs, oldest first, for `owner` until now + `lease`, skipping jobs
  // whose lock key a running job holds. Expired leases are returned to the queue first.
  absl::StatusOr<std::vector<Job>> Claim(const std::string& owner, int max, absl::Duration lease);

  // Within the caller's transaction on `sql`: what a held job has done so far (its result
  // column, kept while it is retried or parked and given to its next claim as Job::result), so
  // that it lands with what it records (the jobs it queued) or not at all. FAILED_PRECONDITION
  // when `owner` no longer holds the job.
  absl::Status SaveProgress(soci::session& sql, const std::string& id, const std::string& owner,
                            const std::string& progress);

  // Extends the lease; returns whether cancellation was requested. FAILED_PRECONDITION when
  // `owner` no longer holds the job (its lease expired and it went back to the queue).
  absl::StatusOr<bool> Renew(const std::string& id, const std::string& owner, absl::Duration lease);
  // Ends a held job as succeeded with `result`.
  absl::Status Complete(const std::string& id, const std::string& owner, const std::string& result);
  // Ends a held job's attempt with `error`: back to the queue after a backoff when `transient`
  // and attempts remain; cancelled for a CANCELLED error; failed otherwise.
  absl::Status Fail(const std::string& id, const std::string& owner, const absl::Status& error,
                    bool transient);
  // Many jobs' events and endings in one transaction, events first (a job's events are
  // numbered in the order given). Per ending, in order: OK, or FAILED_PRECONDITION when
  // `owner` no longer holds the job. A retry (kQueued) of a job without attempts left or with
  // cancellation requested fails instead.
  absl::StatusOr<std::vector<absl::Status>> Write(const std::vector<NewJobEvent>& events,
                                                  const std::vector<JobEnding>& endings);
  // Renew for many held jobs in one transaction; per id, in order.
  absl::StatusOr<std::vector<LeaseCheck>> RenewAll(const std::vector<std::string>& ids,
                                                   const std::string& owner, absl::Duration lease);

  // A queued job is cancelled at once; a running one is asked to stop (its worker sees it on
  // Renew). NOT_FOUND for an unknown job; FAILED_PRECONDITION when it has already ended.
  absl::Status Cancel(const std::string& id);

  absl::StatusOr<Job> Get(const std::string& id);
  absl::StatusOr<std::vector<Job>> List(const JobListQuery& query);
  // The same page as ids and revisions (RowRevision::name is the id): from an index alone
  // unless kind, state or lock filter it.
  absl::StatusOr<std::vector<RowRevision>> ListRevisions(const JobListQuery& query);
  // Those among `ids` `visible_to` sees ("" every one), in no particular order.
  absl::StatusOr<std::vector<Job>> GetMany(const std::string& visible_to,
                                           absl::Span<const std::string> ids);
  // The lock keys of queued and running jobs starting with `prefix` ("server:" for servers
  // with work pending), and of those that ended after `ended_since` (work an observation
  // from before that time may not show yet).
  absl::StatusOr<absl::flat_hash_set<std::string>> BusyLocks(
      const std::string& prefix, absl::Time ended_since = absl::InfiniteFuture());
  // Within the caller's transaction: whether a job of `lock_key` is queued or running (a
  // schedule's previous run still going: parked runs are queued). Index jobs_by_lock.
  bool Unfinished(soci::session& sql, const std::string& lock_key);

  // Appends to a job's event log; returns the event's sequence number (1, 2, ...).
  absl::StatusOr<int64_t> AppendEvent(const std::string& id, const std::string& kind,
                                      const std::string& data);
  // Events after `after_seq`, oldest first, at most `limit`.
  absl::StatusOr<std::vector<JobEvent>> Events(const std::string& id, int64_t after_seq, int limit);

  // The delay before retry number `attempt` + 1: 1 s, 2 s, 4 s, ... at most 5 min.
  static absl::Duration Backoff(int attempt);

 private:
  absl::Status EndHeld(const std::string& id, const std::string& owner, JobState state,
                       const std::string& result, const absl::Status& error, absl::Time not_before);

  Database& db_;
  Clock& clock_;
  // When this process last returned expired leases to the queue (Unix ms).
  std::atomic<int64_t> last_sweep_ms_{0};
};

}  // namespace l4d2::controller
