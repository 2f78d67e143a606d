#include "controller/fleet/workshop_refresh.h"

#include "common/logging.h"
#include "common/status_macros.h"
#include "controller/usecases/catalog.h"

namespace l4d2::controller {

WorkshopRefresh::WorkshopRefresh(FleetStores& stores, WorkshopRefreshOptions options)
    : stores_(stores),
      round_(stores.leases, stores.clock,
             {.lease = "workshop_refresh",
              .interval = options.interval,
              .check = options.check,
              .owner = options.owner}) {}

WorkshopRefresh::~WorkshopRefresh() { Stop(); }

absl::StatusOr<std::vector<std::string>> WorkshopRefresh::Check() {
  L4D2_ASSIGN_OR_RETURN(bool taken, round_.Take());
  if (!taken) return std::vector<std::string>();
  std::vector<std::string> synced;
  PageQuery page{.limit = 500};
  while (true) {
    L4D2_ASSIGN_OR_RETURN(std::vector<Overlay> overlays,
                          stores_.overlays.List(Actor::System(), page));
    for (const Overlay& overlay : overlays) {
      if (!overlay.source.has_workshop()) continue;
      absl::StatusOr<std::vector<std::string>> jobs =
          SyncOverlay(stores_, Actor::System(), overlay.id);
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

void WorkshopRefresh::Start() {
  round_.Start([this] {
    absl::StatusOr<std::vector<std::string>> synced = Check();
    if (!synced.ok()) {
      L4D2_LOG(WARNING) << "workshop refresh: " << synced.status().message();
    } else if (!synced->empty()) {
      L4D2_LOG(INFO) << "workshop refresh: " << synced->size()
                     << " Workshop overlays queued to sync";
    }
  });
}

void WorkshopRefresh::Stop() { round_.Stop(); }

}  // namespace l4d2::controller
