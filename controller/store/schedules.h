#pragma once

// Schedules (table `schedules`, migration 22): what the controller does by itself at given
// times (docs/schedules.md). A schedule belongs to its owner (operators see and change only
// theirs; admins all) and holds its definition (l4d2.controller.v1.ScheduleDefinition, as JSON:
// when, which servers, the chain of steps, options), whether it is enabled, and when it is next
// due. The runner (controller/fleet/schedule_runner.h) takes due occurrences with Advance, a
// compare-and-set on `next_run_at_ms`, so an occurrence is queued once whichever controllers
// look at it. Definitions are checked when saved (cron, time zone, steps, and that the target
// and overlays exist and are the owner's to use), so a bad one never runs. Thread-safe.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "controller/store/actor.h"
#include "controller/store/database.h"
#include "controller/store/page.h"
#include "l4d2/controller/v1/schedules.pb.h"

namespace l4d2::controller {

struct Schedule {
  std::string id;
  std::string owner_id;
  std::string name;
  v1::ScheduleDefinition definition;  // normalized: time zone and `missed` spelled out
  bool enabled = true;
  std::optional<absl::Time> next_run_at;  // nullopt while disabled or never due again
  std::optional<absl::Time> last_run_at;
  std::string last_job_id;
  absl::Time created_at;
  absl::Time updated_at;
  int64_t revision = 0;  // bumped by every change
};

struct ScheduleInput {
  std::string name;  // ^[a-z0-9][a-z0-9_-]{0,63}$, unique per owner
  v1::ScheduleDefinition definition;
  bool enabled = true;
};

// A due schedule with what the runner must know of its owner.
struct DueSchedule {
  Schedule schedule;
  bool owner_admin = false;
  bool owner_disabled = false;
};

// The definition's first occurrence strictly after `after` (nullopt: none within 28 years).
// INVALID_ARGUMENT for a definition without a valid cron or interval.
absl::StatusOr<std::optional<absl::Time>> NextOccurrence(const v1::ScheduleDefinition& definition,
                                                         absl::Time after);

class ScheduleStore {
 public:
  // `db` and `clock` must outlive the store.
  ScheduleStore(Database& db, Clock& clock);

  // Owned by the actor. INVALID_ARGUMENT for a bad definition (naming the field); NOT_FOUND for
  // a target or overlay the actor cannot use; PERMISSION_DENIED for an install step of an
  // operator; ALREADY_EXISTS for a name the owner already uses.
  absl::StatusOr<Schedule> Create(const Actor& actor, const ScheduleInput& input);
  // Replaces name, definition and enabled, with the same checks (against the owner); the next
  // occurrence is computed again from now.
  absl::StatusOr<Schedule> Update(const Actor& actor, const std::string& id,
                                  const ScheduleInput& input);
  absl::StatusOr<Schedule> Get(const Actor& actor, const std::string& id);
  // A page of those the actor sees, by name then id.
  absl::StatusOr<std::vector<Schedule>> List(const Actor& actor, const PageQuery& page);
  absl::Status Delete(const Actor& actor, const std::string& id);

  // Enabled schedules due at `now`, earliest first (index schedules_due).
  absl::StatusOr<std::vector<DueSchedule>> Due(absl::Time now, int limit);
  // Within the caller's transaction: moves the schedule's next occurrence from `due` to `next`
  // and records the run `job_id` ("" for an occurrence skipped) at `now`, only if it was still
  // due at `due`. False when another controller took the occurrence (or the schedule changed).
  bool Advance(soci::session& sql, const std::string& id, absl::Time due,
               std::optional<absl::Time> next, const std::string& job_id, absl::Time now);
  // Within the caller's transaction: a run queued by hand.
  void RecordRun(soci::session& sql, const std::string& id, const std::string& job_id,
                 absl::Time now);

 private:
  // Checks `input` as a schedule of `owner_id`; normalizes its definition.
  absl::Status Check(soci::session& sql, const std::string& owner_id, ScheduleInput& input);
  absl::StatusOr<Schedule> Read(soci::session& sql, const std::string& id);

  Database& db_;
  Clock& clock_;
};

}  // namespace l4d2::controller
