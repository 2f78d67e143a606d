#pragma once

// Blueprints (tables `blueprints` and `blueprint_overlays`): what a server is, minus where it
// runs. Game settings and launch options (an l4d2.agent.v1.InstanceSpec without port and
// overlays) and an ordered list of overlays, highest priority first.
//
// The original tool's rules hold: a blueprint is private to its owner (other operators get
// NOT_FOUND; admins see every object);
// servers are live-linked to it, with no per-server overrides, and pick up a change at their
// next action; a blueprint in use cannot be deleted. Settings are checked against the agents'
// own spec rules (spec/spec.h) when saved, so a bad blueprint never reaches a host.
// Thread-safe.

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "common/clock.h"
#include "controller/store/actor.h"
#include "controller/store/database.h"
#include "controller/store/page.h"
#include "l4d2/agent/v1/instance.pb.h"

namespace l4d2::controller {

struct BlueprintOverlay {
  std::string overlay_id;
  bool exec_server_cfg = false;
};

struct Blueprint {
  std::string id;
  std::string owner_id;
  std::string name;
  agent::v1::InstanceSpec settings;  // port and overlays unset
  std::vector<BlueprintOverlay> overlays;
  absl::Time created_at;
  absl::Time updated_at;
  // Bumped by every change (migration 11): the API shows its JSON from memory while unchanged.
  int64_t revision = 0;
};

struct BlueprintInput {
  std::string name;  // ^[a-z0-9][a-z0-9_-]{0,63}$, unique per owner
  agent::v1::InstanceSpec settings;
  std::vector<BlueprintOverlay> overlays;
};

class BlueprintStore {
 public:
  // `db` and `clock` must outlive the store.
  BlueprintStore(Database& db, Clock& clock);

  // Owned by the actor. INVALID_ARGUMENT for bad settings (naming the field) or a port or
  // overlays inside the settings; NOT_FOUND for an overlay the actor does not see;
  // ALREADY_EXISTS for a name the owner already uses.
  absl::StatusOr<Blueprint> Create(const Actor& actor, const BlueprintInput& input);
  // Replaces name, settings and overlays, with the same checks.
  absl::StatusOr<Blueprint> Update(const Actor& actor, const std::string& id,
                                   const BlueprintInput& input);
  absl::StatusOr<Blueprint> Get(const Actor& actor, const std::string& id);
  // A page of those the actor sees, by name then id: two queries whatever the page's size.
  absl::StatusOr<std::vector<Blueprint>> List(const Actor& actor, const PageQuery& page);
  // The same page as ids, names and revisions, read from an index alone (the cheap first half
  // of a list whose rows' JSON the caller mostly remembers).
  absl::StatusOr<std::vector<RowRevision>> ListRevisions(const Actor& actor, const PageQuery& page);
  // Those among `ids` the actor sees, in no particular order; unknown ids are left out.
  absl::StatusOr<std::vector<Blueprint>> GetMany(const Actor& actor,
                                                 absl::Span<const std::string> ids);
  // FAILED_PRECONDITION while a server uses it.
  absl::Status Delete(const Actor& actor, const std::string& id);

  // The spec an agent gets on `port` from blueprint `id` now: its settings, the port, and its
  // overlays' refs in order.
  absl::StatusOr<agent::v1::InstanceSpec> SpecFor(const std::string& id, int port);

 private:
  absl::StatusOr<Blueprint> Read(soci::session& sql, const std::string& id);
  // Checks `input` as a blueprint of `owner_id` (its overlays: global or the owner's).
  absl::Status Check(soci::session& sql, const std::string& owner_id, const BlueprintInput& input);
  void WriteOverlays(soci::session& sql, const std::string& id,
                     const std::vector<BlueprintOverlay>& overlays);

  Database& db_;
  Clock& clock_;
};

}  // namespace l4d2::controller
