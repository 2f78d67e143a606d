#pragma once

// Webhooks (table `webhooks`, migration 23): where alerts go (docs/alerts.md). A webhook belongs
// to its owner (operators see and change theirs, and hear of their own objects only; admins of
// everything), names the events it wants, a URL (http or https; loopback, link-local and
// unspecified addresses refused unless allowed: the same rule the delivery enforces when it
// connects), a format ("json": signed JSON; "discord": a Discord webhook's message) and a secret,
// made here, shown once, with which each delivery is signed (HMAC-SHA256). Thread-safe.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "controller/store/actor.h"
#include "controller/store/database.h"
#include "controller/store/page.h"

namespace l4d2::controller {

// The events alerts are made of, from the audit log (controller/fleet/alert_dispatcher.h).
inline constexpr const char* kAlertEvents[] = {
    "server.crashed",   "server.crash_loop", "server.hung",   "server.gave_up",
    "host.unreachable", "host.back",         "job.failed",    "schedule.failed",
    "update.available", "update.required",   "host.disk_low",
};

struct Webhook {
  std::string id;
  std::string owner_id;
  std::string name;
  std::string url;
  std::string format;  // "json" or "discord"
  std::vector<std::string> events;
  std::string secret;  // hex; for signing only, never shown after creation
  bool enabled = true;
  absl::Time created_at;
  absl::Time updated_at;
  int64_t revision = 0;
};

struct WebhookInput {
  std::string name;  // ^[a-z0-9][a-z0-9_-]{0,63}$, unique per owner
  std::string url;
  std::string format = "json";
  std::vector<std::string> events;  // 1 or more of kAlertEvents
  bool enabled = true;
};

// INVALID_ARGUMENT unless `url` is http(s) with a host, at most 2,048 bytes, without user
// information, and (unless `allow_private`) not a loopback, link-local or unspecified address
// or "localhost".
absl::Status CheckWebhookUrl(const std::string& url, bool allow_private);

class WebhookStore {
 public:
  // `db` and `clock` must outlive the store.
  WebhookStore(Database& db, Clock& clock);

  // Owned by the actor, with a new secret. INVALID_ARGUMENT naming the field; ALREADY_EXISTS
  // for a name the owner uses.
  absl::StatusOr<Webhook> Create(const Actor& actor, const WebhookInput& input, bool allow_private);
  // Name, URL, format, events and enabled replaced; the secret kept.
  absl::StatusOr<Webhook> Update(const Actor& actor, const std::string& id,
                                 const WebhookInput& input, bool allow_private);
  absl::StatusOr<Webhook> Get(const Actor& actor, const std::string& id);
  absl::StatusOr<std::vector<Webhook>> List(const Actor& actor, const PageQuery& page);
  absl::Status Delete(const Actor& actor, const std::string& id);

  // Every enabled webhook with whether its owner is an admin (the dispatcher's round).
  absl::StatusOr<std::vector<std::pair<Webhook, bool>>> Enabled();

 private:
  absl::Status Check(soci::session& sql, const std::string& owner_id, const WebhookInput& input,
                     const std::string& id, bool allow_private);

  Database& db_;
  Clock& clock_;
};

}  // namespace l4d2::controller
