#include "controller/usecases/catalog.h"

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "controller/jobs/job_kinds.h"
#include "soci/soci.h"

namespace l4d2::controller {

absl::StatusOr<Overlay> CreateOverlay(FleetStores& stores, const Actor& actor,
                                      const std::string& ref, bool global,
                                      const agent::v1::SyncOverlayRequest& source) {
  L4D2_ASSIGN_OR_RETURN(Overlay overlay, stores.overlays.Create(actor, ref, global, source));
  (void)stores.audit.Append(actor.Name(), "overlay.create", overlay.id,
                            AuditDetail({{"ref", overlay.ref}}), overlay.owner_id);
  return overlay;
}

absl::StatusOr<Overlay> UpdateOverlay(FleetStores& stores, const Actor& actor,
                                      const std::string& id,
                                      const agent::v1::SyncOverlayRequest& source) {
  L4D2_ASSIGN_OR_RETURN(Overlay overlay, stores.overlays.Update(actor, id, source));
  (void)stores.audit.Append(
      actor.Name(), "overlay.update", overlay.id,
      AuditDetail({{"ref", overlay.ref}, {"revision", absl::StrCat(overlay.revision)}}),
      overlay.owner_id);
  return overlay;
}

absl::Status DeleteOverlay(FleetStores& stores, const Actor& actor, const std::string& id) {
  L4D2_ASSIGN_OR_RETURN(Overlay overlay, stores.overlays.Get(actor, id));
  L4D2_RETURN_IF_ERROR(stores.overlays.Delete(actor, overlay.id));
  (void)stores.audit.Append(actor.Name(), "overlay.delete", overlay.id,
                            AuditDetail({{"ref", overlay.ref}}), overlay.owner_id);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> SyncOverlay(FleetStores& stores, const Actor& actor,
                                                     const std::string& id) {
  L4D2_ASSIGN_OR_RETURN(Overlay overlay, stores.overlays.Get(actor, id));
  if (!actor.Owns(overlay.owner_id)) {
    return absl::PermissionDeniedError("only admins sync global overlays");
  }
  L4D2_ASSIGN_OR_RETURN(std::vector<Host> hosts, stores.hosts.List());
  std::vector<NewJob> syncs;
  for (const Host& host : hosts) {
    if (host.state == "ready") syncs.push_back(OverlaySyncJob(overlay.id, host.id, actor.Name()));
  }
  std::vector<std::string> jobs;
  // The jobs and their audit entry in one transaction: all hosts' or none.
  L4D2_RETURN_IF_ERROR(stores.db.Transact([&](soci::session& sql) -> absl::Status {
    L4D2_ASSIGN_OR_RETURN(jobs, stores.jobs.Enqueue(sql, syncs));
    const AuditEntry entry{
        .actor = actor.Name(),
        .action = "overlay.sync",
        .target = overlay.id,
        .detail = AuditDetail({{"ref", overlay.ref}, {"hosts", absl::StrCat(jobs.size())}}),
        .owner = overlay.owner_id};
    stores.audit.Append(sql, absl::MakeConstSpan(&entry, 1));
    return absl::OkStatus();
  }));
  return jobs;
}

absl::StatusOr<Blueprint> CreateBlueprint(FleetStores& stores, const Actor& actor,
                                          const BlueprintInput& input) {
  L4D2_ASSIGN_OR_RETURN(Blueprint blueprint, stores.blueprints.Create(actor, input));
  (void)stores.audit.Append(actor.Name(), "blueprint.create", blueprint.id,
                            AuditDetail({{"name", blueprint.name}}), blueprint.owner_id);
  return blueprint;
}

absl::StatusOr<Blueprint> UpdateBlueprint(FleetStores& stores, const Actor& actor,
                                          const std::string& id, const BlueprintInput& input) {
  L4D2_ASSIGN_OR_RETURN(Blueprint blueprint, stores.blueprints.Update(actor, id, input));
  (void)stores.audit.Append(actor.Name(), "blueprint.update", blueprint.id,
                            AuditDetail({{"name", blueprint.name}}), blueprint.owner_id);
  return blueprint;
}

absl::Status DeleteBlueprint(FleetStores& stores, const Actor& actor, const std::string& id) {
  L4D2_ASSIGN_OR_RETURN(Blueprint blueprint, stores.blueprints.Get(actor, id));
  L4D2_RETURN_IF_ERROR(stores.blueprints.Delete(actor, blueprint.id));
  (void)stores.audit.Append(actor.Name(), "blueprint.delete", blueprint.id,
                            AuditDetail({{"name", blueprint.name}}), blueprint.owner_id);
  return absl::OkStatus();
}

}  // namespace l4d2::controller
