#pragma once

// Operators' intents for overlays and blueprints, what servers are made of: the one place that
// writes and audits them (ownership is the stores': another operator's object is NOT_FOUND).

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "controller/store/actor.h"
#include "controller/store/fleet_stores.h"

namespace l4d2::controller {

// Errors as OverlayStore::Create.
absl::StatusOr<Overlay> CreateOverlay(FleetStores& stores, const Actor& actor,
                                      const std::string& ref, bool global,
                                      const agent::v1::SyncOverlayRequest& source);
// A new revision with `source`. Errors as OverlayStore::Update.
absl::StatusOr<Overlay> UpdateOverlay(FleetStores& stores, const Actor& actor,
                                      const std::string& id,
                                      const agent::v1::SyncOverlayRequest& source);
// Errors as OverlayStore::Delete (FAILED_PRECONDITION while a blueprint uses it).
absl::Status DeleteOverlay(FleetStores& stores, const Actor& actor, const std::string& id);
// Queues syncing the overlay to every ready host now (servers' jobs sync what they need anyway);
// the jobs' ids. PERMISSION_DENIED for a global overlay and an operator.
absl::StatusOr<std::vector<std::string>> SyncOverlay(FleetStores& stores, const Actor& actor,
                                                     const std::string& id);

// Errors as BlueprintStore::Create.
absl::StatusOr<Blueprint> CreateBlueprint(FleetStores& stores, const Actor& actor,
                                          const BlueprintInput& input);
// Servers pick the change up at their next action. Errors as BlueprintStore::Update.
absl::StatusOr<Blueprint> UpdateBlueprint(FleetStores& stores, const Actor& actor,
                                          const std::string& id, const BlueprintInput& input);
// Errors as BlueprintStore::Delete (FAILED_PRECONDITION while a server uses it).
absl::Status DeleteBlueprint(FleetStores& stores, const Actor& actor, const std::string& id);

}  // namespace l4d2::controller
