#pragma once

// What each kind of job does, apart from the machinery that runs them (scheduler.h): the job
// values the queue stores, and running one claimed job against its host's agent (AgentClient)
// and the stores. Tested on their own against a fake agent (tests/controller/jobs/).
//
// Job kinds (parameters: l4d2.controller.v1 messages, proto/l4d2/controller/v1/jobs.proto):
//   host.install            install or update the game on a host
//   overlay.sync            bring one host to an overlay's current revision
//   server.create           place the server (if not yet), sync its overlays, initialize its
//                           instance, and start it when its desired state is running
//   server.start            place if needed, sync, initialize with the blueprint as it is now
//                           (blueprint changes apply at a server's next action), start
//   server.restart          as start, with the agent's restart
//   server.stop / .reset    stop; stop and wipe the writable layer
//   server.delete           delete the instance on its host, then forget the server
//   server.change_blueprint switch the blueprint; a placed server's instance takes the new spec
//                           (a running one at its next start)
//   schedule.run            one occurrence of a schedule: its steps, a claim each (schedule_run.h)
//   webhook.deliver         an alert to a webhook, signed, retried (webhook_delivery.h)
//   game.check              ask the hosts whether Steam has a newer build (game_update.h)
//   game.update             a rolling update: installs, then restarts when empty (game_update.h)
// A server job whose host is unreachable is retried (UNAVAILABLE) and never moves the server.
// Steps and their operation ids: "<job>:sync:<overlay>:<revision>", "<job>:init", "<job>:start",
// "<job>:stop", "<job>:restart", "<job>:reset", "<job>:delete".

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/http/http_fetcher.h"
#include "controller/jobs/agent_client.h"
#include "controller/store/fleet_stores.h"
#include "rpc/proto_json.h"

namespace l4d2::controller {

// "host.install" with its parameters as the queue stores them.
NewJob HostInstallJob(const std::string& host_id, const std::string& created_by);
// "server.<action>" for one server, locked per server; `not_before` staggers bulk actions. A
// restart whose parameters say only_when_empty is refused, FAILED_PRECONDITION beginning
// "players on", when the game has players in it just before (game_update.h).
NewJob ServerJob(const std::string& action, const std::string& server_id,
                 const std::string& created_by, absl::Time not_before = absl::InfinitePast());
NewJob ChangeBlueprintJob(const std::string& server_id, const std::string& blueprint_id,
                          const std::string& created_by);
NewJob OverlaySyncJob(const std::string& overlay_id, const std::string& host_id,
                      const std::string& created_by);

// Names for a job's event line: all of them, or the first 20 and how many more.
std::string ShortList(const std::vector<std::string>& names);

// The retention of backups asked for without one (config backups.keep, backups.keep_for).
struct BackupDefaults {
  uint32_t keep = 7;
  absl::Duration keep_for = absl::Hours(24 * 30);  // zero: no limit
};

class BackupVault;  // controller/store/backup_vault.h

struct JobContext {
  FleetStores& stores;
  AgentClient& agents;
  PlacementOptions placement;
  BackupDefaults backups;
  // Where backups are copied off their hosts (config backups.vault; null: they are not).
  BackupVault* vault = nullptr;
  // Webhook deliveries' client (null: they fail), and whether they may reach loopback and
  // link-local addresses (alerts.allow_private_targets).
  HttpPoster* http = nullptr;
  bool allow_private_targets = false;
};

// What one claim of a job came to: its result as the queue stores it (JSON of the kind's result
// message), or, for a run parked between its steps (schedule_run.h), its progress and when it
// goes on.
struct JobOutcome {
  std::string result;
  std::optional<absl::Time> park_until;
};

// One look of a parked run (a schedule run, a rolling update): its parameters and the
// progress its last look saved (empty at the first), parsed, then `Run(context, job, call,
// params, progress).Go()`, which saves progress and says when it goes on.
template <typename Run, typename Params, typename Progress>
absl::StatusOr<JobOutcome> LookAtParkedRun(const JobContext& context, const Job& job,
                                           AgentCall& call) {
  absl::StatusOr<Params> params = FromJson<Params>(job.params, "job parameters");
  if (!params.ok()) return params.status();
  Progress progress;
  if (!job.result.empty()) {
    absl::StatusOr<Progress> saved = FromJson<Progress>(job.result, "job progress");
    if (!saved.ok()) return saved.status();
    progress = *std::move(saved);
  }
  return Run(context, job, call, *std::move(params), std::move(progress)).Go();
}

// Runs one claimed job to its end (or, for a schedule run, its next park) under `call`. Errors: the
// agent's (UNAVAILABLE and the like are the scheduler's to retry), UNAVAILABLE for a server whose
// host is unreachable (the server never moves), NOT_FOUND for a host, server or overlay gone,
// INVALID_ARGUMENT for an unknown kind or bad parameters, CANCELLED when `call` was.
absl::StatusOr<JobOutcome> RunJob(const JobContext& context, const Job& job, AgentCall& call);

}  // namespace l4d2::controller
