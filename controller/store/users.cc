#include "controller/store/users.h"

#include <limits>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/status_macros.h"
#include "controller/store/ids.h"
#include "soci/soci.h"

namespace l4d2::controller {
namespace {

Role ParseRole(const std::string& name) { return name == "admin" ? Role::kAdmin : Role::kOperator; }

absl::StatusOr<User> ReadUser(soci::session& sql, const std::string& column,
                              const std::string& value, std::string* hash) {
  User user;
  std::string role;
  int disabled = 0;
  long long created = 0;
  std::string password_hash;
  sql << "SELECT id, username, role, disabled, created_at_ms, password_hash FROM users WHERE "
      << column << " = :value",
      soci::use(value), soci::into(user.id), soci::into(user.username), soci::into(role),
      soci::into(disabled), soci::into(created), soci::into(password_hash);
  if (!sql.got_data()) return absl::NotFoundError("no such user");
  user.role = ParseRole(role);
  user.disabled = disabled != 0;
  user.created_at = absl::FromUnixMillis(created);
  if (hash != nullptr) *hash = std::move(password_hash);
  return user;
}

}  // namespace

const char* RoleName(Role role) { return role == Role::kAdmin ? "admin" : "operator"; }

absl::Status ValidateUsername(absl::string_view username) {
  bool ok = !username.empty() && username.size() <= 32 &&
            (absl::ascii_islower(username[0]) || absl::ascii_isdigit(username[0]));
  for (char c : username) {
    ok = ok &&
         (absl::ascii_islower(c) || absl::ascii_isdigit(c) || c == '_' || c == '.' || c == '-');
  }
  if (!ok) {
    return absl::InvalidArgumentError(
        "username: 1 to 32 of a-z, 0-9, '_', '.', '-', starting with a letter or digit");
  }
  return absl::OkStatus();
}

UserStore::UserStore(Database& db, Clock& clock, PasswordCost cost)
    : db_(db), clock_(clock), cost_(cost) {}

absl::StatusOr<User> UserStore::Create(const std::string& username, absl::string_view password,
                                       Role role) {
  L4D2_RETURN_IF_ERROR(ValidateUsername(username));
  L4D2_RETURN_IF_ERROR(ValidatePassword(password));
  L4D2_ASSIGN_OR_RETURN(std::string hash, HashPassword(password, cost_));
  User user{
      .id = "u" + RandomHex(16), .username = username, .role = role, .created_at = clock_.Now()};
  L4D2_RETURN_IF_ERROR(db_.Transact([&](soci::session& sql) -> absl::Status {
    long long taken = 0;
    sql << "SELECT COUNT(*) FROM users WHERE username = :u", soci::use(username), soci::into(taken);
    if (taken > 0) {
      return absl::AlreadyExistsError(absl::StrCat("user '", username, "' already exists"));
    }
    long long now = absl::ToUnixMillis(user.created_at);
    std::string role_name = RoleName(role);
    sql << "INSERT INTO users (id, username, password_hash, role, created_at_ms, updated_at_ms)"
           " VALUES (:id, :u, :h, :r, :c, :m)",
        soci::use(user.id), soci::use(username), soci::use(hash), soci::use(role_name),
        soci::use(now), soci::use(now);
    return absl::OkStatus();
  }));
  return user;
}

absl::StatusOr<User> UserStore::Authenticate(const std::string& username,
                                             absl::string_view password) {
  // A hash of a password nobody has, verified when the user is unknown.
  static const std::string* decoy =
      new std::string(HashPassword("left4me decoy password", cost_).value_or(""));
  absl::StatusOr<User> user = absl::NotFoundError("");
  std::string hash;
  L4D2_RETURN_IF_ERROR(db_.WithSession([&](soci::session& sql) {
    user = ReadUser(sql, "username", username, &hash);
    return absl::OkStatus();
  }));
  const bool verified = VerifyPassword(user.ok() ? hash : *decoy, password);
  if (!user.ok() || !verified || user->disabled) {
    return absl::UnauthenticatedError("wrong username or password");
  }
  return user;
}

absl::StatusOr<User> UserStore::Get(const std::string& id) {
  absl::StatusOr<User> user = absl::NotFoundError("");
  L4D2_RETURN_IF_ERROR(db_.WithSession([&](soci::session& sql) {
    user = ReadUser(sql, "id", id, nullptr);
    return absl::OkStatus();
  }));
  return user;
}

absl::StatusOr<std::vector<User>> UserStore::List() {
  return List({.limit = std::numeric_limits<int>::max()}, std::nullopt);
}

absl::StatusOr<std::vector<User>> UserStore::List(const PageQuery& page, std::optional<Role> role) {
  std::vector<User> users;
  L4D2_RETURN_IF_ERROR(db_.WithSession([&](soci::session& sql) {
    std::string where = "1 = 1";
    std::vector<std::string> params;
    if (role.has_value()) {
      params.push_back(*role == Role::kAdmin ? "admin" : "operator");
      where += " AND role = :p1";
    }
    AppendPageConditions(page, "username", "id", where, params);
    User user;
    std::string role_name;
    int disabled = 0;
    long long created = 0;
    soci::statement select(sql);
    for (const std::string& param : params) select.exchange(soci::use(param));
    select.exchange(soci::into(user.id));
    select.exchange(soci::into(user.username));
    select.exchange(soci::into(role_name));
    select.exchange(soci::into(disabled));
    select.exchange(soci::into(created));
    select.alloc();
    select.prepare(
        absl::StrCat("SELECT id, username, role, disabled, created_at_ms FROM users WHERE ", where,
                     " ORDER BY username, id LIMIT ", page.limit));
    select.define_and_bind();
    select.execute(false);
    while (select.fetch()) {
      user.role = ParseRole(role_name);
      user.disabled = disabled != 0;
      user.created_at = absl::FromUnixMillis(created);
      users.push_back(user);
    }
    return absl::OkStatus();
  }));
  return users;
}

absl::Status UserStore::SetPassword(const std::string& id, absl::string_view password) {
  L4D2_RETURN_IF_ERROR(ValidatePassword(password));
  L4D2_ASSIGN_OR_RETURN(std::string hash, HashPassword(password, cost_));
  const long long now = absl::ToUnixMillis(clock_.Now());
  return db_.Transact([&](soci::session& sql) -> absl::Status {
    soci::statement update =
        (sql.prepare << "UPDATE users SET password_hash = :h, updated_at_ms = :n WHERE id = :id",
         soci::use(hash), soci::use(now), soci::use(id));
    update.execute(true);
    if (update.get_affected_rows() == 0) return absl::NotFoundError("no such user");
    return absl::OkStatus();
  });
}

absl::StatusOr<User> UserStore::Update(const std::string& id, Role role, bool disabled) {
  absl::StatusOr<User> updated = absl::NotFoundError("no such user");
  const long long now = absl::ToUnixMillis(clock_.Now());
  L4D2_RETURN_IF_ERROR(db_.Transact([&](soci::session& sql) -> absl::Status {
    L4D2_ASSIGN_OR_RETURN(User user, ReadUser(sql, "id", id, nullptr));
    const bool was_admin = user.role == Role::kAdmin && !user.disabled;
    if (was_admin && (role != Role::kAdmin || disabled)) {
      long long admins = 0;
      sql << "SELECT COUNT(*) FROM users WHERE role = 'admin' AND disabled = 0", soci::into(admins);
      if (admins <= 1) {
        return absl::FailedPreconditionError("the last enabled administrator must stay one");
      }
    }
    const std::string role_name = RoleName(role);
    const int disabled_flag = disabled ? 1 : 0;
    sql << "UPDATE users SET role = :r, disabled = :d, updated_at_ms = :n WHERE id = :id",
        soci::use(role_name), soci::use(disabled_flag), soci::use(now), soci::use(id);
    user.role = role;
    user.disabled = disabled;
    updated = user;
    return absl::OkStatus();
  }));
  return updated;
}

absl::StatusOr<int64_t> UserStore::CountAdmins() {
  long long count = 0;
  L4D2_RETURN_IF_ERROR(db_.WithSession([&](soci::session& sql) {
    sql << "SELECT COUNT(*) FROM users WHERE role = 'admin' AND disabled = 0", soci::into(count);
    return absl::OkStatus();
  }));
  return count;
}

}  // namespace l4d2::controller
