#pragma once

// Who is calling, and whether they may call this route (security.md): a session cookie
// (browsers) or a bearer API token (l4d2ctl, CI). With a session, every state-changing
// request must carry the session's CSRF token in X-CSRF-Token; with a token, state changes
// need its "write" scope. Admin routes refuse operators. Thread-safe.

#include <string>

#include "absl/status/status.h"
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
  // The stores must outlive the authenticator.
  Authenticator(UserStore& users, SessionStore& sessions, ApiTokenStore& tokens);

  // Fills `request`'s caller fields. UNAUTHENTICATED without valid credentials (on a route
  // that needs them); PERMISSION_DENIED for a missing or wrong CSRF token, a token without the
  // scope, or an operator on an admin route.
  absl::Status Authorize(const Route& route, const Credentials& credentials, ApiRequest& request);

 private:
  UserStore& users_;
  SessionStore& sessions_;
  ApiTokenStore& tokens_;
};

}  // namespace l4d2::controller
