#pragma once

// "schedule.run": one occurrence of a schedule (store/schedules.h), its definition as it was
// when the occurrence was queued (ScheduleRunParams). docs/schedules.md.
//
// A run is a chain of steps over the servers of its target, as the schedule's owner sees them
// when the run starts (servers with players on are left out when the schedule says
// only_when_empty). Each claim of the job does one step and parks the job (JobEnding::park):
// the job goes back to the queue with its progress (ScheduleRunProgress, in its result column)
// and no worker is held during a wait or while the step's own jobs run. So a run survives its
// controller: whoever claims it next goes on from the last step recorded, never from the start.
//
//   command   the console command to every running server of the run, over RCON (operation id
//             "<job>:<step>:<server>": a step resumed after a crash does not send it twice to
//             a server that answered)
//   wait      parks until the wait is over
//   action    start/stop/restart/reset: "server.<action>" jobs (queued with the progress that
//             names them, in one transaction), then parks until every one has ended
//   install   "host.install" for each host of the run's servers, awaited likewise
//   syncOverlay  "overlay.sync" of the overlay to each of those hosts, awaited likewise
// A step that fails for some servers or hosts ends the run as failed, naming them, unless the
// schedule says continue_on_failure.

#include <string>

#include "absl/status/statusor.h"
#include "controller/jobs/agent_client.h"
#include "controller/jobs/job_kinds.h"
#include "l4d2/controller/v1/schedules.pb.h"

namespace l4d2::controller {

// The job of one occurrence; `created_by` is the schedule's owner for the clock's runs (they act
// on the owner's behalf and are listed as the owner's jobs), the user for a run by hand.
NewJob ScheduleRunJob(const v1::ScheduleRunParams& params, const std::string& created_by);

// One claim of a "schedule.run" job: a step, then a park; the run's result after its last step.
absl::StatusOr<JobOutcome> RunSchedule(const JobContext& context, const Job& job, AgentCall& call);

}  // namespace l4d2::controller
