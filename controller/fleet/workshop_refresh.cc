#include "controller/fleet/workshop_refresh.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/logging.h"
#include "common/status_macros.h"
#include "controller/usecases/catalog.h"

namespace l4d2::controller {

absl::StatusOr<std::vector<std::string>> RefreshWorkshopOverlays(FleetStores& stores) {
  std::vector<std::string> synced;
  PageQuery page{.limit = 500};
  while (true) {
    L4D2_ASSIGN_OR_RETURN(std::vector<Overlay> overlays,
                          stores.overlays.List(Actor::System(), page));
    for (const Overlay& overlay : overlays) {
      if (!overlay.source.has_workshop()) continue;
      absl::StatusOr<std::vector<std::string>> jobs =
          SyncOverlay(stores, Actor::System(), overlay.id);
      if (!jobs.ok()) {
        L4D2_LOG(WARNING) << "workshop refresh: overlay " << overlay.ref << ": "
                          << jobs.status().message();
        continue;
      }
      synced.push_back(overlay.id);
    }
    if (overlays.size() < static_cast<size_t>(page.limit)) break;
    page.after = PageKeyOf(overlays.back().ref, overlays.back().id);
  }
  return synced;
}

PeriodicRound::Work WorkshopRefreshWork(FleetStores& stores) {
  return [&stores]() -> absl::StatusOr<std::string> {
    L4D2_ASSIGN_OR_RETURN(std::vector<std::string> synced, RefreshWorkshopOverlays(stores));
    if (synced.empty()) return std::string();
    return absl::StrCat(synced.size(),
                        " Workshop overlays queued to sync: ", absl::StrJoin(synced, ", "));
  };
}

}  // namespace l4d2::controller
