#pragma once

// Users of the controller (table `users`): admins and operators, with argon2id password hashes
// (controller/auth/password.h). Thread-safe.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "controller/auth/password.h"
#include "controller/store/database.h"
#include "controller/store/page.h"

namespace l4d2::controller {

enum class Role { kAdmin, kOperator };

const char* RoleName(Role role);

struct User {
  std::string id;
  std::string username;
  Role role = Role::kOperator;
  bool disabled = false;
  absl::Time created_at;
};

// ^[a-z0-9][a-z0-9_.-]{0,31}$; INVALID_ARGUMENT otherwise.
absl::Status ValidateUsername(absl::string_view username);

class UserStore {
 public:
  // `db` and `clock` must outlive the store.
  UserStore(Database& db, Clock& clock, PasswordCost cost = PasswordCost::Interactive());

  // INVALID_ARGUMENT for a bad username or password; ALREADY_EXISTS for a taken username.
  absl::StatusOr<User> Create(const std::string& username, absl::string_view password, Role role);
  // The user whose password this is. UNAUTHENTICATED, with one message, for an unknown user, a
  // wrong password or a disabled account (an unknown user costs a hash verification too, so
  // timing does not tell which).
  absl::StatusOr<User> Authenticate(const std::string& username, absl::string_view password);
  absl::StatusOr<User> Get(const std::string& id);
  // Every user, by username.
  absl::StatusOr<std::vector<User>> List();
  // A page by username then id, of one role (nullopt any), in one query.
  absl::StatusOr<std::vector<User>> List(const PageQuery& page, std::optional<Role> role);
  absl::StatusOr<int64_t> CountAdmins();
  // INVALID_ARGUMENT for a bad password; NOT_FOUND for an unknown user. The caller ends the
  // user's sessions (sessions.h).
  absl::Status SetPassword(const std::string& id, absl::string_view password);
  // Changes role and disabled flag. FAILED_PRECONDITION when it would leave no enabled admin.
  absl::StatusOr<User> Update(const std::string& id, Role role, bool disabled);

 private:
  Database& db_;
  Clock& clock_;
  PasswordCost cost_;
};

}  // namespace l4d2::controller
