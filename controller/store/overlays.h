#pragma once

// Overlays of the fleet (tables `overlays` and `overlay_hosts`): named content layers whose
// definition is the source of an agent's SyncOverlay (inline files, Workshop items, an archive,
// or, for admins only, a script). Every change of the definition bumps the revision; hosts
// record which revision they have, so the scheduler syncs a host only when it is behind.
//
// An overlay is global (no owner; created by admins, usable by everyone) or owned by an
// operator (usable only by them). Others' overlays are NOT_FOUND, as if they did not exist.
// An overlay a blueprint uses cannot be deleted. Thread-safe.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "common/clock.h"
#include "controller/store/actor.h"
#include "controller/store/database.h"
#include "controller/store/page.h"
#include "l4d2/agent/v1/overlay.pb.h"

namespace l4d2::controller {

struct Overlay {
  std::string id;
  std::string owner_id;  // "" for a global overlay
  std::string ref;       // the agents' overlay ref, e.g. "standard" or "u-alice/maps"
  // The source (operation_id and ref unset).
  agent::v1::SyncOverlayRequest source;
  int64_t revision = 0;
  absl::Time created_at;
  absl::Time updated_at;
};

// What a host has of an overlay.
struct OverlayOnHost {
  int64_t revision = 0;
  std::string version;
};

class OverlayStore {
 public:
  // The definition's JSON is capped at this many bytes (inline files included).
  static constexpr size_t kMaxDefinitionBytes = 4 << 20;

  // `db` and `clock` must outlive the store.
  OverlayStore(Database& db, Clock& clock);

  // A global overlay when `global` (admins only), else one owned by the actor. INVALID_ARGUMENT
  // for a bad ref or source (none, too large, a script from an operator); ALREADY_EXISTS for a
  // taken ref; PERMISSION_DENIED for an operator making a global overlay.
  absl::StatusOr<Overlay> Create(const Actor& actor, const std::string& ref, bool global,
                                 const agent::v1::SyncOverlayRequest& source);
  // Replaces the source; the revision goes up by one.
  absl::StatusOr<Overlay> Update(const Actor& actor, const std::string& id,
                                 const agent::v1::SyncOverlayRequest& source);
  absl::StatusOr<Overlay> Get(const Actor& actor, const std::string& id);
  // A page of those the actor sees (global ones and their own; all for admins), by ref then id,
  // in one query; `global` keeps only global (true) or only owned (false) ones.
  absl::StatusOr<std::vector<Overlay>> List(const Actor& actor, const PageQuery& page,
                                            std::optional<bool> global = std::nullopt);
  // The same page as ids, refs and revisions, read from the page indexes alone.
  absl::StatusOr<std::vector<RowRevision>> ListRevisions(const Actor& actor, const PageQuery& page,
                                                         std::optional<bool> global = std::nullopt);
  // Those among `ids` the actor sees, in no particular order; unknown ids are left out.
  absl::StatusOr<std::vector<Overlay>> GetMany(const Actor& actor,
                                               absl::Span<const std::string> ids);
  // FAILED_PRECONDITION while a blueprint uses it.
  absl::Status Delete(const Actor& actor, const std::string& id);

  // What `host_id` has of the overlay; nullopt when it never synced it.
  absl::StatusOr<std::optional<OverlayOnHost>> OnHost(const std::string& overlay_id,
                                                      const std::string& host_id);
  // Records that `host_id` now has `revision` as the agent's `version`.
  absl::Status RecordSync(const std::string& overlay_id, const std::string& host_id,
                          int64_t revision, const std::string& version);

 private:
  absl::StatusOr<Overlay> Read(soci::session& sql, const std::string& id);

  Database& db_;
  Clock& clock_;
};

}  // namespace l4d2::controller
