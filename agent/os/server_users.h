#pragma once

// OS capability: the pool of accounts game servers run as, one account per server (issue
// Isolation). The accounts are made when the agent is installed (deploy/sysusers.d: users named
// <prefix>1, <prefix>2, ...); the agent never writes the user database, it hands each instance
// a free account of the pool and records it. Servers under different accounts cannot signal,
// trace or read one another (ProtectProc=invisible hides them), nor each other's files.
//
// The Linux implementation reads the user database through NSS (getpwent_r); tests use a fake.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace l4d2::agent {

struct ServerAccount {
  std::string name;
  uint32_t uid = 0;
  uint32_t gid = 0;
};

class ServerUsers {
 public:
  virtual ~ServerUsers() = default;
  // Every account whose name starts with `prefix`, in the order of the numbers that end their
  // names (shorter names first). Accounts with uid or gid 0 are left
  // out: a server never runs as root.
  virtual absl::StatusOr<std::vector<ServerAccount>> Pool(const std::string& prefix) = 0;
};

}  // namespace l4d2::agent
