#include "controller/api/authenticator.h"

#include <sodium.h>

#include "absl/strings/match.h"
#include "absl/strings/strip.h"
#include "common/status_macros.h"

namespace l4d2::controller {
namespace {

bool SameSecret(const std::string& a, const std::string& b) {
  return a.size() == b.size() && sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

absl::Status CheckAccess(const Route& route, const User& user) {
  if (route.access == Access::kAdmin && user.role != Role::kAdmin) {
    return absl::PermissionDeniedError("this needs an administrator");
  }
  return absl::OkStatus();
}

}  // namespace

Authenticator::Authenticator(UserStore& users, SessionStore& sessions, ApiTokenStore& tokens)
    : users_(users), sessions_(sessions), tokens_(tokens) {}

absl::Status Authenticator::Authorize(const Route& route, const Credentials& credentials,
                                      ApiRequest& request) {
  std::string user_id;
  if (!credentials.authorization.empty()) {
    absl::string_view bearer = credentials.authorization;
    if (!absl::ConsumePrefix(&bearer, "Bearer ")) {
      return absl::UnauthenticatedError("Authorization: expected 'Bearer <API token>'");
    }
    L4D2_ASSIGN_OR_RETURN(ApiToken token, tokens_.Authenticate(std::string(bearer)));
    if (!token.Allows(route.ChangesState() ? TokenScope::kWrite : TokenScope::kRead)) {
      return absl::PermissionDeniedError(route.ChangesState()
                                             ? "this API token lacks the 'write' scope"
                                             : "this API token lacks the 'read' scope");
    }
    user_id = token.user_id;
    request.credential = CredentialKind::kToken;
  } else if (!credentials.session_cookie.empty()) {
    absl::StatusOr<Session> session = sessions_.Resume(credentials.session_cookie);
    if (!session.ok()) {
      // A stale cookie on a public route (the login form) is no credential at all.
      if (route.access == Access::kPublic && absl::IsUnauthenticated(session.status())) {
        return absl::OkStatus();
      }
      return session.status();
    }
    // Public routes (signing in) need no CSRF token: there is no session to ride on yet, and
    // a cross-site form cannot send their JSON bodies.
    if (route.access != Access::kPublic && route.ChangesState() &&
        !SameSecret(credentials.csrf_token, session->csrf_token)) {
      return absl::PermissionDeniedError("missing or wrong X-CSRF-Token header");
    }
    user_id = session->user_id;
    request.credential = CredentialKind::kSession;
    request.session_secret = credentials.session_cookie;
  } else {
    if (route.access == Access::kPublic) return absl::OkStatus();
    return absl::UnauthenticatedError("sign in, or send an API token");
  }
  absl::StatusOr<User> user = users_.Get(user_id);
  if (!user.ok() || user->disabled) return absl::UnauthenticatedError("the account is disabled");
  L4D2_RETURN_IF_ERROR(CheckAccess(route, *user));
  request.actor = user->role == Role::kAdmin ? Actor::Admin(user->id) : Actor::Operator(user->id);
  request.user = *std::move(user);
  return absl::OkStatus();
}

}  // namespace l4d2::controller
