#include "controller/fleet/update_watch.h"

#include <algorithm>

#include "common/logging.h"
#include "common/status_macros.h"
#include "controller/jobs/game_update.h"

namespace l4d2::controller {

UpdateWatch::UpdateWatch(FleetStores& stores, UpdateWatchOptions options)
    : stores_(stores),
      round_(stores.leases, stores.clock,
             {.lease = "game_check",
              .interval = options.interval,
              .check = options.check,
              .owner = options.owner}) {}

absl::StatusOr<std::string> UpdateWatch::Check() {
  L4D2_ASSIGN_OR_RETURN(bool taken, round_.Take());
  if (!taken) return std::string();
  L4D2_ASSIGN_OR_RETURN(v1::UpdatePolicy policy, stores_.updates.Policy());
  const bool all_off = policy.mode() == "off" &&
                       std::all_of(policy.host_modes().begin(), policy.host_modes().end(),
                                   [](const auto& entry) { return entry.second == "off"; });
  if (all_off) return std::string();
  return QueueGameCheck(stores_, "schedule", "system");
}

void UpdateWatch::Start() {
  round_.Start([this] {
    absl::StatusOr<std::string> queued = Check();
    if (!queued.ok()) {
      L4D2_LOG(WARNING) << "update check: " << queued.status().message();
    } else if (!queued->empty()) {
      L4D2_LOG(INFO) << "update check: job " << *queued << " queued";
    }
  });
}

void UpdateWatch::Stop() { round_.Stop(); }

}  // namespace l4d2::controller
