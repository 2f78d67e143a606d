#include "controller/fleet/schedule_runner.h"

#include "absl/strings/str_cat.h"
#include "common/clock.h"
#include "common/logging.h"
#include "common/status_macros.h"
#include "controller/jobs/schedule_run.h"
#include "google/protobuf/util/time_util.h"
#include "soci/soci.h"

namespace l4d2::controller {
namespace {

// What ends a claim transaction whose occurrence another controller took first: nothing of it
// is kept.
absl::Status Taken() { return absl::AbortedError("the occurrence was taken"); }

std::string RfcTime(absl::Time at) {
  return absl::FormatTime(absl::RFC3339_sec, at, absl::UTCTimeZone());
}

}  // namespace

ScheduleRunner::ScheduleRunner(FleetStores& stores, ScheduleRunnerOptions options)
    : stores_(stores), options_(std::move(options)) {}

ScheduleRunner::~ScheduleRunner() { Stop(); }

absl::StatusOr<ScheduleRound> ScheduleRunner::Round() {
  ScheduleRound round;
  L4D2_ASSIGN_OR_RETURN(round.leader,
                        stores_.leases.TryAcquire("schedules", options_.owner, options_.check * 3));
  held_ = round.leader;
  if (!round.leader) return round;
  const absl::Time now = stores_.clock.Now();
  L4D2_ASSIGN_OR_RETURN(std::vector<DueSchedule> due, stores_.schedules.Due(now, options_.batch));
  for (const DueSchedule& item : due) {
    const Schedule& schedule = item.schedule;
    const absl::Time occurrence = *schedule.next_run_at;
    absl::StatusOr<std::optional<absl::Time>> next =
        NextOccurrence(schedule.definition, std::max(occurrence, now));
    if (next.ok() && schedule.definition.has_every() && now >= occurrence) {
      // On the interval's own beat (occurrence + k * every), not drifting by how late each
      // round took it.
      const absl::Duration every = **next - now;
      absl::Duration beyond;
      *next = occurrence + every * (absl::IDivDuration(now - occurrence, every, &beyond) + 1);
    }
    if (!next.ok()) {
      L4D2_LOG(WARNING) << "schedules: " << schedule.id << ": " << next.status().message();
      continue;
    }
    const bool late = now - occurrence > options_.late;
    std::string skip_reason;
    if (item.owner_disabled) {
      skip_reason = "its owner is disabled";
    } else if (late && schedule.definition.missed() == "skip") {
      skip_reason = "missed (every controller was away at its time)";
    }
    bool queued = false;
    absl::Status taken = stores_.db.Transact([&](soci::session& sql) -> absl::Status {
      // One run of a schedule at a time: an occurrence while the last run still goes (waiting
      // or awaiting its jobs) is skipped, not stacked.
      if (skip_reason.empty() && stores_.jobs.Unfinished(sql, "schedule:" + schedule.id)) {
        skip_reason = "its previous run is still going";
      }
      std::string job_id;
      if (skip_reason.empty()) {
        v1::ScheduleRunParams params;
        params.set_schedule_id(schedule.id);
        params.set_schedule_name(schedule.name);
        params.set_owner_id(schedule.owner_id);
        params.set_owner_admin(item.owner_admin);
        *params.mutable_occurrence() =
            google::protobuf::util::TimeUtil::NanosecondsToTimestamp(absl::ToUnixNanos(occurrence));
        *params.mutable_definition() = schedule.definition;
        // On its owner's behalf: theirs in the job lists, as the jobs it queues are.
        L4D2_ASSIGN_OR_RETURN(
            std::vector<std::string> ids,
            stores_.jobs.Enqueue(sql, {ScheduleRunJob(params, "user:" + schedule.owner_id)}));
        job_id = ids.front();
      }
      if (!stores_.schedules.Advance(sql, schedule.id, occurrence, *next, job_id, now)) {
        return Taken();
      }
      AuditEntry entry{.actor = "system",
                       .action = skip_reason.empty() ? "schedule.run" : "schedule.skipped",
                       .target = schedule.id,
                       .owner = schedule.owner_id};
      entry.detail = skip_reason.empty() ? AuditDetail({{"name", schedule.name},
                                                        {"occurrence", RfcTime(occurrence)},
                                                        {"late", late ? "yes" : "no"},
                                                        {"job", job_id}})
                                         : AuditDetail({{"name", schedule.name},
                                                        {"occurrence", RfcTime(occurrence)},
                                                        {"reason", skip_reason}});
      stores_.audit.Append(sql, {entry});
      queued = skip_reason.empty();
      return absl::OkStatus();
    });
    if (absl::IsAborted(taken)) continue;  // another controller's
    L4D2_RETURN_IF_ERROR(taken);
    ++(queued ? round.queued : round.skipped);
  }
  return round;
}

void ScheduleRunner::Start() {
  thread_ = std::thread([this] {
    absl::MutexLock lock(&mutex_);
    do {
      mutex_.Unlock();
      absl::StatusOr<ScheduleRound> round = Round();
      if (!round.ok()) {
        L4D2_LOG(WARNING) << "schedules: " << round.status().message();
      } else if (round->queued + round->skipped > 0) {
        L4D2_LOG(INFO) << "schedules: " << round->queued << " runs queued, " << round->skipped
                       << " occurrences skipped";
      }
      mutex_.Lock();
    } while (!mutex_.AwaitWithDeadline(absl::Condition(&stopping_), RealDeadline(options_.check)));
  });
}

void ScheduleRunner::Stop() {
  {
    absl::MutexLock lock(&mutex_);
    if (stopping_) return;
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
  if (held_) (void)stores_.leases.Release("schedules", options_.owner);
}

}  // namespace l4d2::controller
