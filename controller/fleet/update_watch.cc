#include "controller/fleet/update_watch.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "controller/jobs/game_update.h"

namespace l4d2::controller {

PeriodicRound::Work UpdateCheckWork(FleetStores& stores) {
  return [&stores]() -> absl::StatusOr<std::string> {
    L4D2_ASSIGN_OR_RETURN(v1::UpdatePolicy policy, stores.updates.Policy());
    const bool all_off = policy.mode() == "off" &&
                         std::all_of(policy.host_modes().begin(), policy.host_modes().end(),
                                     [](const auto& entry) { return entry.second == "off"; });
    if (all_off) return std::string();
    L4D2_ASSIGN_OR_RETURN(std::string job, QueueGameCheck(stores, "schedule", "system"));
    return job.empty() ? job : absl::StrCat("job ", job, " queued");
  };
}

}  // namespace l4d2::controller
