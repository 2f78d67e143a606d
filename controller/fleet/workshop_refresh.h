#pragma once

// Workshop overlays refresh by themselves (issue Automation), as the single-host tool's daily
// timer did: every `overlays.workshop_refresh` (24 h by default) every overlay whose source is
// the Steam Workshop is synced to every ready host again ("overlay.sync" jobs, audited as the
// system's). An item whose time_updated moved becomes a new version that servers pick up at
// their next start; an unchanged one downloads nothing (the agent keeps a version per item
// update). Once per interval across controllers and restarts: the work of a PeriodicRound on
// the lease "workshop_refresh".

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "controller/fleet/periodic_round.h"
#include "controller/store/fleet_stores.h"

namespace l4d2::controller {

// Queues the syncs of every Workshop overlay: the overlays synced (one that cannot be is
// logged and skipped).
absl::StatusOr<std::vector<std::string>> RefreshWorkshopOverlays(FleetStores& stores);

// RefreshWorkshopOverlays as a round's work. `stores` must outlive it.
PeriodicRound::Work WorkshopRefreshWork(FleetStores& stores);

}  // namespace l4d2::controller
