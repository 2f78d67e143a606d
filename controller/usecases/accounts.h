#pragma once

// Operators' intents for users and API tokens: the one place that validates, writes and audits
// them, and ends what a change ends (sessions), for the HTTP API and the command line alike.
// `by` is the audit log's actor ("user:<id>", "cli").

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "controller/store/actor.h"
#include "controller/store/api_tokens.h"
#include "controller/store/audit_log.h"
#include "controller/store/sessions.h"
#include "controller/store/users.h"

namespace l4d2::controller {

struct AccountStores {
  UserStore& users;
  SessionStore& sessions;
  ApiTokenStore& tokens;
  AuditLog& audit;
  // Told the id of a user whose credentials, role or account changed, so that caches of
  // credentials (the API's authenticator) forget them at once. May be empty.
  std::function<void(const std::string& user_id)> credentials_changed;
};

// A new user. Errors as UserStore::Create.
absl::StatusOr<User> CreateUser(AccountStores& accounts, const std::string& by,
                                const std::string& username, const std::string& password,
                                Role role);

struct UserChange {
  std::optional<Role> role;
  std::optional<std::string> password;
  std::optional<bool> disabled;
};
// Changes what `change` sets; a new password or a disabled account ends the user's sessions.
// INVALID_ARGUMENT for a bad password (nothing changed); NOT_FOUND; FAILED_PRECONDITION when it
// would leave no enabled admin.
absl::StatusOr<User> UpdateUser(AccountStores& accounts, const std::string& by,
                                const std::string& id, const UserChange& change);

struct CreatedToken {
  ApiToken token;
  std::string secret;  // shown this once
};
// An API token of the actor. Errors as ApiTokenStore::Create.
absl::StatusOr<CreatedToken> CreateToken(AccountStores& accounts, const Actor& actor,
                                         const std::string& name,
                                         const std::vector<std::string>& scopes);
// Revokes a token the actor may revoke. Errors as ApiTokenStore::Revoke.
absl::StatusOr<ApiToken> RevokeToken(AccountStores& accounts, const Actor& actor,
                                     const std::string& id);

}  // namespace l4d2::controller
