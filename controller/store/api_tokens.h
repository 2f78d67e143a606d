#pragma once

// API tokens (table `api_tokens`) for l4d2ctl and CI: a bearer secret that acts as its user,
// limited to its scopes. The secret ("l4d2_" and 48 hex digits, 192 random bits) is shown once
// at creation and kept only as its hash; a token can be revoked, and its last use is recorded
// (at most once a minute). Thread-safe.

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "controller/store/actor.h"
#include "controller/store/database.h"

namespace l4d2::controller {

// What a token may do. kRead: every GET; kWrite: state changes too (implies kRead).
enum class TokenScope { kRead, kWrite };

// Whether `scopes` ("read", "write") allow `scope`.
bool ScopesAllow(const std::vector<std::string>& scopes, TokenScope scope);

struct ApiToken {
  std::string id;
  std::string user_id;
  std::string name;
  std::vector<std::string> scopes;  // "read", "write"
  absl::Time created_at;
  std::optional<absl::Time> last_used;
  std::optional<absl::Time> revoked_at;

  bool Allows(TokenScope scope) const { return ScopesAllow(scopes, scope); }
};

class ApiTokenStore {
 public:
  static constexpr int kMaxTokensPerUser = 100;

  // `db` and `clock` must outlive the store.
  ApiTokenStore(Database& db, Clock& clock);

  // A new token of the actor; the secret is in `secret` only. INVALID_ARGUMENT for a name that
  // is not 1 to 64 printable characters or unknown scopes (none: ["read"]);
  // RESOURCE_EXHAUSTED past kMaxTokensPerUser live tokens.
  absl::StatusOr<ApiToken> Create(const Actor& actor, const std::string& name,
                                  const std::vector<std::string>& scopes, std::string* secret);
  // The live token of `secret`, its last use recorded. UNAUTHENTICATED, with one message, for
  // an unknown or revoked token or a disabled user.
  absl::StatusOr<ApiToken> Authenticate(const std::string& secret);
  // The actor's tokens (admins: every user's), newest first; revoked ones included.
  absl::StatusOr<std::vector<ApiToken>> List(const Actor& actor);
  // A page of those the actor sees, newest first: ids below `before` ("" from the newest), at
  // most `limit`, in one query.
  absl::StatusOr<std::vector<ApiToken>> List(const Actor& actor, const std::string& before,
                                             int limit);
  // The token, now revoked. NOT_FOUND for a token the actor does not own; revoking twice is
  // OK.
  absl::StatusOr<ApiToken> Revoke(const Actor& actor, const std::string& id);
  // Revokes every token of the user (disabled users).
  absl::Status RevokeAllOf(const std::string& user_id);

 private:
  Database& db_;
  Clock& clock_;
};

}  // namespace l4d2::controller
