#include "controller/fleet/workshop_refresh.h"

#include "common/clock.h"
#include "common/logging.h"
#include "common/status_macros.h"
#include "controller/usecases/catalog.h"

namespace l4d2::controller {

WorkshopRefresh::WorkshopRefresh(FleetStores& stores, WorkshopRefreshOptions options)
    : stores_(stores), options_(std::move(options)) {}

WorkshopRefresh::~WorkshopRefresh() { Stop(); }

absl::StatusOr<std::vector<std::string>> WorkshopRefresh::Check() {
  const absl::Time now = stores_.clock.Now();
  if (now < next_) return std::vector<std::string>();
  L4D2_ASSIGN_OR_RETURN(
      bool taken, stores_.leases.TryAcquire("workshop_refresh", options_.owner, options_.interval));
  if (!taken) {
    next_ = now + options_.check;
    return std::vector<std::string>();
  }
  next_ = now + options_.interval;
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
  thread_ = std::thread([this] {
    absl::MutexLock lock(&mutex_);
    do {
      mutex_.Unlock();
      absl::StatusOr<std::vector<std::string>> synced = Check();
      if (!synced.ok()) {
        L4D2_LOG(WARNING) << "workshop refresh: " << synced.status().message();
      } else if (!synced->empty()) {
        L4D2_LOG(INFO) << "workshop refresh: " << synced->size()
                       << " Workshop overlays queued to sync";
      }
      mutex_.Lock();
    } while (!mutex_.AwaitWithDeadline(absl::Condition(&stopping_), RealDeadline(options_.check)));
  });
}

void WorkshopRefresh::Stop() {
  {
    absl::MutexLock lock(&mutex_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

}  // namespace l4d2::controller
