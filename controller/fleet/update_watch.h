#pragma once

// Notices newer builds of the game by itself (docs/updates.md): every `interval`
// (`updates.check`, 1 h by default) a "game.check" job (jobs/game_update.h), which asks the
// hosts and, as the update policy says, announces the build or starts a rolling update. Once
// per interval across controllers and restarts: a PeriodicRound ("game_check"). Nothing is
// queued while the policy turns checks off for the fleet and every host.

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "controller/fleet/periodic_round.h"
#include "controller/store/fleet_stores.h"

namespace l4d2::controller {

struct UpdateWatchOptions {
  absl::Duration interval = absl::Hours(1);
  absl::Duration check = absl::Minutes(1);
  std::string owner;  // this controller process (ProcessOwnerName)
};

class UpdateWatch {
 public:
  // `stores` must outlive it.
  UpdateWatch(FleetStores& stores, UpdateWatchOptions options);

  // When the round is due and this controller takes it: the check job queued ("" when not
  // due, another controller's round, checks off, or a check already queued).
  absl::StatusOr<std::string> Check();

  // Check() every `check` on a thread of its own (the first at once), until Stop().
  void Start();
  void Stop();

 private:
  FleetStores& stores_;
  PeriodicRound round_;
};

}  // namespace l4d2::controller
