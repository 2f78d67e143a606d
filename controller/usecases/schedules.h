#pragma once

// Operators' intents for schedules (docs/schedules.md): written and audited in one place, run by
// hand, and kept as YAML files by operators (`l4d2ctl schedules apply -f` / `export`):
//
//   name: nightly-restart
//   cron: "0 4 * * *"            # or  every: 6h
//   time_zone: Europe/Berlin     # cron only; UTC when absent
//   enabled: true
//   target: {blueprint: versus}  # server: NAME | blueprint: NAME | host: NAME | fleet: true
//   only_when_empty: false
//   continue_on_failure: false
//   missed: run_once             # or skip
//   steps:
//     - command: say Restart in 5 minutes
//     - wait: 5m
//     - action: restart          # start | stop | restart | reset
//     - install: true            # admins
//     - sync_overlay: REF
//
// Targets and overlays are named in files (by name, by ref) and by id in the API.

#include <string>

#include "absl/status/statusor.h"
#include "controller/store/actor.h"
#include "controller/store/fleet_stores.h"

namespace l4d2::controller {

// Errors as ScheduleStore::Create.
absl::StatusOr<Schedule> CreateSchedule(FleetStores& stores, const Actor& actor,
                                        const ScheduleInput& input);
// Errors as ScheduleStore::Update.
absl::StatusOr<Schedule> UpdateSchedule(FleetStores& stores, const Actor& actor,
                                        const std::string& id, const ScheduleInput& input);
absl::Status DeleteSchedule(FleetStores& stores, const Actor& actor, const std::string& id);

// Queues a run of the schedule now (its definition as it is; the clock's occurrences are not
// moved), audited; the job's id.
absl::StatusOr<std::string> RunScheduleNow(FleetStores& stores, const Actor& actor,
                                           const std::string& id);

// The file's schedule, with names resolved to ids as the actor sees them. INVALID_ARGUMENT
// naming the key for a bad file or an unknown name.
absl::StatusOr<ScheduleInput> ParseScheduleYaml(FleetStores& stores, const Actor& actor,
                                                const std::string& text);
// The schedule as such a file.
absl::StatusOr<std::string> ScheduleToYaml(FleetStores& stores, const Schedule& schedule);

// `apply -f`: the file's schedule created, or, when the actor has one of its name, updated.
// Whether it was created.
absl::StatusOr<std::pair<Schedule, bool>> ApplyScheduleYaml(FleetStores& stores, const Actor& actor,
                                                            const std::string& text);

}  // namespace l4d2::controller
