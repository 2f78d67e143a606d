#include "agent/os/linux/passwd_server_users.h"

#include <pwd.h>

#include <algorithm>
#include <cerrno>

#include "absl/base/const_init.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/file_util.h"

namespace l4d2::agent {
namespace {

// setpwent/getpwent_r/endpwent share one position per process.
ABSL_CONST_INIT absl::Mutex database_mutex(absl::kConstInit);

}  // namespace

absl::StatusOr<std::vector<ServerAccount>> PasswdServerUsers::Pool(const std::string& prefix) {
  std::vector<ServerAccount> pool;
  absl::MutexLock lock(&database_mutex);
  ::setpwent();
  std::vector<char> buffer(16384);
  while (true) {
    struct passwd entry {};
    struct passwd* result = nullptr;
    const int error = ::getpwent_r(&entry, buffer.data(), buffer.size(), &result);
    if (error == ERANGE) {
      buffer.resize(buffer.size() * 2);
      continue;
    }
    if (error != 0 || result == nullptr) {
      ::endpwent();
      if (error != 0 && error != ENOENT) return ErrnoError(error, "read", "the user database");
      break;
    }
    if (absl::StartsWith(result->pw_name, prefix) && result->pw_uid != 0 && result->pw_gid != 0) {
      pool.push_back({.name = result->pw_name, .uid = result->pw_uid, .gid = result->pw_gid});
    }
  }
  // By the number after the prefix (-1, -2, ..., -10): systemd-sysusers gives system accounts
  // descending uids, and the first server should be left4me-server-1. Names of equal length
  // compare as their numbers do.
  std::sort(pool.begin(), pool.end(), [](const ServerAccount& a, const ServerAccount& b) {
    return std::pair(a.name.size(), a.name) < std::pair(b.name.size(), b.name);
  });
  return pool;
}

absl::StatusOr<ServerAccount> UnprivilegedAccount(const std::string& user, absl::string_view what) {
  struct passwd entry {};
  struct passwd* found = nullptr;
  std::vector<char> buffer(16384);
  const int error = ::getpwnam_r(user.c_str(), &entry, buffer.data(), buffer.size(), &found);
  if (error != 0 || found == nullptr) {
    return absl::FailedPreconditionError(absl::StrCat(
        what, ": user '", user, "' does not exist on this host (see docs/operations.md)"));
  }
  if (found->pw_uid == 0 || found->pw_gid == 0) {
    return absl::FailedPreconditionError(
        absl::StrCat(what, ": user '", user, "' is root; an unprivileged one is needed"));
  }
  return ServerAccount{.name = user, .uid = found->pw_uid, .gid = found->pw_gid};
}

}  // namespace l4d2::agent
