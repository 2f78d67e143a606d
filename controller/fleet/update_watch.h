#pragma once

// Notices newer builds of the game by itself (docs/updates.md): every `updates.check` (1 h by
// default) a "game.check" job (jobs/game_update.h), which asks the hosts and, as the update
// policy says, announces the build or starts a rolling update. Once per interval across
// controllers and restarts: the work of a PeriodicRound on the lease "game_check".

#include "controller/fleet/periodic_round.h"
#include "controller/store/fleet_stores.h"

namespace l4d2::controller {

// Queues the check, unless the policy turns checks off for the fleet and every host or a
// check is already queued: what it queued, for the log ("" when nothing). `stores` must
// outlive the work.
PeriodicRound::Work UpdateCheckWork(FleetStores& stores);

}  // namespace l4d2::controller
