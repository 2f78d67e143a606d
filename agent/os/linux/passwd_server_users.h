#pragma once

#include "agent/os/server_users.h"

namespace l4d2::agent {

// ServerUsers from the user database (getpwent_r: /etc/passwd and whatever NSS adds).
// Thread-safe: the database's one iteration is held under a lock.
class PasswdServerUsers final : public ServerUsers {
 public:
  absl::StatusOr<std::vector<ServerAccount>> Pool(const std::string& prefix) override;
};

// The unprivileged account `user` (overlay scripts, left4me-fetch): FAILED_PRECONDITION naming
// it, and `what` uses it for, when it does not exist or is root.
absl::StatusOr<ServerAccount> UnprivilegedAccount(const std::string& user, absl::string_view what);

}  // namespace l4d2::agent
