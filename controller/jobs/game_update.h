#pragma once

// Game updates across the fleet (docs/updates.md): the jobs that notice a newer build of the
// game and move the fleet onto it without interrupting a game.
//
// "game.check" (lock "game.check"): asks every ready host whose update mode is not "off"
// (store/game_updates.h) for its installed build and the newest Steam offers (the agents'
// CheckForUpdate: steamcmd's app_info), a few hosts at a time, and keeps what they said
// (UpdateState). A newer build than a host has is audited "update.available" once per build
// (an alert event). When hosts whose mode is "rolling" are behind and no rolling update is
// queued or running, it queues one ("game.update") for them, in the same transaction.
//
// "game.update" (lock "game.update": one at a time, so max_parallel holds fleet-wide): a
// rolling update, one claim per look, parked in between (JobEnding::park) like a schedule run.
//   1. "host.install" on each of its hosts at once. Running servers stay on the build they
//      run (the agent keeps one directory per build); a host whose install fails is left as it
//      was, with its servers, and named in the result.
//   2. Its servers: those of the installed hosts that should run, run, and run another build.
//   3. Each is restarted onto the new build ("server.restart", system's) when it is empty (no
//      player in the game's log, none in A2S), at most max_parallel at once; the restart job
//      itself asks the game for players just before it restarts (only_when_empty) and is
//      refused when one joined meanwhile: the server waits again. With a deadline, a server
//      still with players is warned (the policy's console command) warning_lead before it and
//      restarted at it. A server stopped, deleted or restarted by someone else meanwhile is
//      left (it starts on the new build).
// The progress (GameUpdateProgress) is saved with every change, and jobs it queues are queued
// in the same transaction that records them: a controller dying mid-update queues nothing twice.

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "controller/jobs/agent_client.h"
#include "controller/jobs/job_kinds.h"
#include "l4d2/controller/v1/updates.pb.h"

namespace l4d2::controller {

NewJob GameCheckJob(const std::string& reason, const std::string& created_by);
NewJob GameUpdateJob(const v1::GameUpdateParams& params, const std::string& created_by);

// Queues a "game.check" unless one is queued or running; the id of the one queued ("" when
// one already was).
absl::StatusOr<std::string> QueueGameCheck(FleetStores& stores, const std::string& reason,
                                           const std::string& created_by);

// Queues a rolling update of `host_ids` (empty: every ready host whose mode is not "off") to
// the newest build, with the current policy, audited ("update.rolling"). FAILED_PRECONDITION
// when one is queued or running (named) or no host is left; NOT_FOUND for an unknown host.
absl::StatusOr<std::string> QueueGameUpdate(FleetStores& stores,
                                            const std::vector<std::string>& host_ids,
                                            const std::string& created_by);

absl::StatusOr<JobOutcome> RunGameCheck(const JobContext& context, const Job& job, AgentCall& call);
// One claim of a rolling update: a look, then a park; the result after its last server.
absl::StatusOr<JobOutcome> RunGameUpdate(const JobContext& context, const Job& job,
                                         AgentCall& call);

// Whether Steam build `a` is newer than `b` (build ids are increasing decimal numbers; "" is
// older than any).
bool NewerBuild(const std::string& a, const std::string& b);

}  // namespace l4d2::controller
