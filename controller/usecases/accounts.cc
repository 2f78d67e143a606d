#include "controller/usecases/accounts.h"

#include "common/status_macros.h"
#include "controller/auth/password.h"

namespace l4d2::controller {
namespace {

void Changed(AccountStores& accounts, const std::string& user_id) {
  if (accounts.credentials_changed) accounts.credentials_changed(user_id);
}

}  // namespace

absl::StatusOr<User> CreateUser(AccountStores& accounts, const std::string& by,
                                const std::string& username, const std::string& password,
                                Role role) {
  L4D2_ASSIGN_OR_RETURN(User user, accounts.users.Create(username, password, role));
  (void)accounts.audit.Append(by, "user.create", user.id,
                              AuditDetail({{"username", user.username}, {"role", RoleName(role)}}));
  return user;
}

absl::StatusOr<User> UpdateUser(AccountStores& accounts, const std::string& by,
                                const std::string& id, const UserChange& change) {
  L4D2_ASSIGN_OR_RETURN(User user, accounts.users.Get(id));
  if (change.password.has_value()) L4D2_RETURN_IF_ERROR(ValidatePassword(*change.password));
  const Role role = change.role.value_or(user.role);
  const bool disabled = change.disabled.value_or(user.disabled);
  L4D2_ASSIGN_OR_RETURN(user, accounts.users.Update(user.id, role, disabled));
  if (change.password.has_value()) {
    L4D2_RETURN_IF_ERROR(accounts.users.SetPassword(user.id, *change.password));
  }
  if (change.password.has_value() || disabled) {
    L4D2_RETURN_IF_ERROR(accounts.sessions.EndAllOf(user.id).status());
  }
  // A new role or a disabled flag counts from the next request.
  Changed(accounts, user.id);
  (void)accounts.audit.Append(
      by, "user.update", user.id,
      AuditDetail({{"role", RoleName(role)},
                   {"disabled", disabled ? "true" : "false"},
                   {"password", change.password.has_value() ? "changed" : "unchanged"}}));
  return user;
}

absl::StatusOr<CreatedToken> CreateToken(AccountStores& accounts, const Actor& actor,
                                         const std::string& name,
                                         const std::vector<std::string>& scopes) {
  CreatedToken created;
  L4D2_ASSIGN_OR_RETURN(created.token,
                        accounts.tokens.Create(actor, name, scopes, &created.secret));
  (void)accounts.audit.Append(actor.Name(), "token.create", created.token.id,
                              AuditDetail({{"name", created.token.name}}), created.token.user_id);
  return created;
}

absl::StatusOr<ApiToken> RevokeToken(AccountStores& accounts, const Actor& actor,
                                     const std::string& id) {
  L4D2_ASSIGN_OR_RETURN(ApiToken token, accounts.tokens.Revoke(actor, id));
  Changed(accounts, token.user_id);
  (void)accounts.audit.Append(actor.Name(), "token.revoke", token.id,
                              AuditDetail({{"name", token.name}}), token.user_id);
  return token;
}

}  // namespace l4d2::controller
