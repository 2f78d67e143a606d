#pragma once

// The record of every mutating operation, by the caller's operation_id (docs/agent-api.md,
// "Operations"), and the fail-fast lock that keeps at most one operation per target running.
//
//   auto claim = registry.Claim({.id, .kind, .target, .lock, .fingerprint});  // ClaimResult
//   kNew:      the caller runs the work, publishing events on claim->run, then Finish()es it.
//   kRunning:  the same call is in progress: attach to claim->run (replay, then follow).
//   kFinished: the same call already ended: answer with claim->record.
//
// Finished operations are written atomically to <dir>/<id>.binpb before Finish returns, so a
// retry after an agent restart gets the first outcome. An operation that was running when the
// agent died has no record and simply runs again; every operation is written to converge when
// repeated. Records older than the retention are removed at Load(), and while the agent runs
// as operations finish, at most once every kPruneInterval.
//
// Thread-safe.

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "l4d2/agent/internal/records.pb.h"
#include "l4d2/agent/v1/operation.pb.h"

namespace l4d2::agent {

// One running operation: an append-only list of events (serialized stream messages) and, at
// the end, its status and result. Watchers replay from any index and are told of new events.
class OperationRun {
 public:
  explicit OperationRun(v1::Operation operation) : operation_(std::move(operation)) {}

  // A run that has already ended, e.g. to answer from a record: `events`, then `status`.
  static std::shared_ptr<OperationRun> Ended(v1::Operation operation,
                                             std::vector<std::string> events, absl::Status status);

  // The operation's record as of now.
  v1::Operation Snapshot() const;
  // Appends an event; `progress` (if set) becomes the operation's last_progress.
  void Publish(std::string event, const v1::Progress* progress = nullptr);

  // Events from `index` on, and whether the run has ended (status and result are then final).
  struct Read {
    std::vector<std::string> events;
    bool done = false;
    absl::Status status;
    std::string result;
  };
  Read ReadFrom(size_t index) const;
  // Registers `callback` to run once, from the publishing thread (without this run's lock),
  // when there is anything past `index`. Returns false, registering nothing, when there
  // already is: the caller reads again. For reactors that must not block.
  bool NotifyAfter(size_t index, std::function<void()> callback);
  // Blocks until there is anything past `index` or `deadline`.
  void WaitAfter(size_t index, absl::Time deadline) const;

 private:
  friend class OperationRegistry;
  void End(absl::Status status, std::string result, absl::Time now);
  bool HasNewsLocked(size_t index) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
    return events_.size() > index || done_;
  }
  void FireLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);

  mutable absl::Mutex mutex_;
  v1::Operation operation_ ABSL_GUARDED_BY(mutex_);
  std::vector<std::string> events_ ABSL_GUARDED_BY(mutex_);
  bool done_ ABSL_GUARDED_BY(mutex_) = false;
  absl::Status status_ ABSL_GUARDED_BY(mutex_);
  std::string result_ ABSL_GUARDED_BY(mutex_);
  std::vector<std::pair<size_t, std::function<void()>>> waiters_ ABSL_GUARDED_BY(mutex_);
};

struct OperationRequest {
  std::string id;
  v1::OperationKind kind = v1::OPERATION_KIND_UNSPECIFIED;
  // What it acts on (instance name, overlay ref, "" for the install).
  std::string target;
  // At most one running operation per lock key ("instance/s1", "install").
  std::string lock;
  // A digest of the request: the same id with another fingerprint is refused.
  std::string fingerprint;
};

class OperationRegistry {
 public:
  enum class ClaimState { kNew, kRunning, kFinished };
  struct ClaimResult {
    ClaimState state;
    std::shared_ptr<OperationRun> run;  // kNew and kRunning.
    internal::OperationRecord record;   // kFinished.
  };

  // `dir` holds the records (created if missing). `clock` must outlive the registry.
  OperationRegistry(std::string dir, Clock& clock, absl::Duration retention = absl::Hours(24 * 7));

  static constexpr absl::Duration kPruneInterval = absl::Hours(1);

  // Creates the directory, removes expired records. Records are read lazily by id.
  absl::Status Load();
  // Removes records older than the retention.
  void Prune();

  // INVALID_ARGUMENT for a malformed id or an id reused for another request; ABORTED when
  // another operation holds the lock.
  absl::StatusOr<ClaimResult> Claim(const OperationRequest& request);

  // Ends a kNew run: persists the record (result only when `status` is OK), releases the
  // lock, wakes watchers. Returns the persistence error, if any (the run still ends).
  absl::Status Finish(const std::shared_ptr<OperationRun>& run, const absl::Status& status,
                      const std::string& result);

  // A running or recorded operation. NOT_FOUND when unknown.
  absl::StatusOr<v1::Operation> Get(const std::string& id);

  // Validates the id format of docs/agent-api.md.
  static absl::Status ValidateId(const std::string& id);

 private:
  std::string PathOf(const std::string& id) const;
  absl::StatusOr<internal::OperationRecord> ReadRecord(const std::string& id) const;

  const std::string dir_;
  Clock& clock_;
  const absl::Duration retention_;
  absl::Mutex mutex_;
  // Running operations by id, with their request, and the lock each holds.
  struct Running {
    OperationRequest request;
    std::shared_ptr<OperationRun> run;
  };
  std::map<std::string, Running> running_ ABSL_GUARDED_BY(mutex_);
  std::map<std::string, std::string> locks_ ABSL_GUARDED_BY(mutex_);  // lock -> id
  absl::Time last_prune_ ABSL_GUARDED_BY(mutex_) = absl::InfinitePast();
};

}  // namespace l4d2::agent
