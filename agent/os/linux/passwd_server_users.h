#pragma once

#include "agent/os/server_users.h"

namespace l4d2::agent {

// ServerUsers from the user database (getpwent_r: /etc/passwd and whatever NSS adds).
// Thread-safe: the database's one iteration is held under a lock.
class PasswdServerUsers final : public ServerUsers {
 public:
  absl::StatusOr<std::vector<ServerAccount>> Pool(const std::string& prefix) override;
};

}  // namespace l4d2::agent
