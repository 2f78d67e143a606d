#pragma once

// Workshop overlays refresh by themselves (issue Automation), as the single-host tool's daily
// timer did: every `interval` (24 h by default) every overlay whose source is the Steam
// Workshop is synced to every ready host again ("overlay.sync" jobs, audited as the system's).
// An item whose time_updated moved becomes a new version that servers pick up at their next
// start; an unchanged one downloads nothing (the agent keeps a version per item update).
//
// Once per interval across controllers and restarts: a PeriodicRound ("workshop_refresh").

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "controller/fleet/periodic_round.h"
#include "controller/store/fleet_stores.h"

namespace l4d2::controller {

struct WorkshopRefreshOptions {
  absl::Duration interval = absl::Hours(24);
  // How often a controller looks whether the round is due (and whether another took it).
  absl::Duration check = absl::Minutes(1);
  std::string owner;  // this controller process (ProcessOwnerName)
};

class WorkshopRefresh {
 public:
  // `stores` must outlive it.
  WorkshopRefresh(FleetStores& stores, WorkshopRefreshOptions options);
  ~WorkshopRefresh();

  // When the round is due and this controller takes it: queues the syncs; the overlays synced
  // (empty: not due, another controller's round, or no Workshop overlay).
  absl::StatusOr<std::vector<std::string>> Check();

  // Check() every `check` on a thread of its own (the first at once), until Stop().
  void Start();
  void Stop();

 private:
  FleetStores& stores_;
  PeriodicRound round_;
};

}  // namespace l4d2::controller
