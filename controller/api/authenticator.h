#pragma once

// Who is calling, and whether they may call this route (security.md): a session cookie
// (browsers) or a bearer API token (l4d2ctl, CI). With a session, every state-changing
// request must carry the session's CSRF token in X-CSRF-Token; with a token, state changes
// need its "write" scope. Admin routes refuse operators.
//
// A credential checked in the database is remembered for `cache_ttl` (default 1 s), so a busy
// client costs two queries a second rather than two per request (docs/benchmarks.md, P6).
// Whatever ends a credential on this controller (logout, a password change, a disabled user, a
// revoked token) forgets the user's entries at once (ForgetUser); other controllers on the same
// database notice within the TTL. Thread-safe.

#include <functional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "common/clock.h"
#include "controller/api/route.h"
#include "controller/store/api_tokens.h"
#include "controller/store/sessions.h"
#include "controller/store/users.h"

namespace l4d2::controller {

inline constexpr char kSessionCookie[] = "l4d2_session";
inline constexpr char kCsrfHeader[] = "X-CSRF-Token";

// The credentials a request carried.
struct Credentials {
  std::string session_cookie;  // the l4d2_session cookie's value
  std::string authorization;   // the Authorization header
  std::string csrf_token;      // the X-CSRF-Token header
};

class Authenticator {
 public:
  // The stores and `clock` must outlive the authenticator.
  Authenticator(UserStore& users, SessionStore& sessions, ApiTokenStore& tokens,
                Clock& clock = Clock::Real(), absl::Duration cache_ttl = absl::Seconds(1));

  // Fills `request`'s caller fields. UNAUTHENTICATED without valid credentials (on a route
  // that needs them); PERMISSION_DENIED for a missing or wrong CSRF token, a token without the
  // scope, or an operator on an admin route.
  absl::Status Authorize(const Route& route, const Credentials& credentials, ApiRequest& request);

  // Drops every remembered credential of the user: their next request is checked again; then
  // tells the listener (the stream warden), after the change that prompted it is stored.
  void ForgetUser(const std::string& user_id);
  void set_forget_listener(std::function<void(const std::string& user_id)> listener) {
    forget_listener_ = std::move(listener);
  }

  // The user behind a credential key (ApiRequest::credential_key) as the database says now,
  // past the cache: UNAUTHENTICATED when it no longer signs anyone in (ended, revoked,
  // expired, the account disabled).
  absl::StatusOr<User> Recheck(const std::string& credential_key);

 private:
  // A credential as last found valid.
  struct Known {
    User user;
    std::string csrf_token;           // sessions
    std::vector<std::string> scopes;  // tokens
    absl::Time checked;
  };
  // The caller behind a session secret or an API token, from the cache or the database.
  absl::StatusOr<Known> Lookup(const std::string& secret, bool token);

  UserStore& users_;
  SessionStore& sessions_;
  ApiTokenStore& tokens_;
  Clock& clock_;
  const absl::Duration ttl_;
  absl::Mutex mutex_;
  // By "s:" + session secret or "t:" + token.
  absl::flat_hash_map<std::string, Known> known_ ABSL_GUARDED_BY(mutex_);
  std::function<void(const std::string& user_id)> forget_listener_;
};

}  // namespace l4d2::controller
