#include "controller/api/authenticator.h"

#include <sodium.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
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

Authenticator::Authenticator(UserStore& users, SessionStore& sessions, ApiTokenStore& tokens,
                             Clock& clock, absl::Duration cache_ttl)
    : users_(users), sessions_(sessions), tokens_(tokens), clock_(clock), ttl_(cache_ttl) {}

void Authenticator::ForgetUser(const std::string& user_id) {
  {
    absl::MutexLock lock(&mutex_);
    absl::erase_if(known_, [&](const auto& entry) { return entry.second.user.id == user_id; });
  }
  if (forget_listener_) forget_listener_(user_id);
}

absl::StatusOr<User> Authenticator::Recheck(const std::string& credential_key) {
  absl::string_view secret = credential_key;
  const bool token = absl::ConsumePrefix(&secret, "t:");
  if (!token && !absl::ConsumePrefix(&secret, "s:")) {
    return absl::UnauthenticatedError("not a credential");
  }
  {
    absl::MutexLock lock(&mutex_);
    known_.erase(credential_key);
  }
  L4D2_ASSIGN_OR_RETURN(Known known, Lookup(std::string(secret), token));
  return known.user;
}

absl::StatusOr<Authenticator::Known> Authenticator::Lookup(const std::string& secret, bool token) {
  const std::string key = (token ? "t:" : "s:") + secret;
  const absl::Time now = clock_.Now();
  {
    absl::MutexLock lock(&mutex_);
    auto it = known_.find(key);
    if (it != known_.end() && now - it->second.checked < ttl_) return it->second;
  }
  Known known{.checked = now};
  std::string user_id;
  if (token) {
    L4D2_ASSIGN_OR_RETURN(ApiToken found, tokens_.Authenticate(secret));
    user_id = found.user_id;
    known.scopes = std::move(found.scopes);
  } else {
    L4D2_ASSIGN_OR_RETURN(Session session, sessions_.Resume(secret));
    user_id = session.user_id;
    known.csrf_token = std::move(session.csrf_token);
  }
  absl::StatusOr<User> user = users_.Get(user_id);
  if (!user.ok() || user->disabled) return absl::UnauthenticatedError("the account is disabled");
  known.user = *std::move(user);
  absl::MutexLock lock(&mutex_);
  // Bounded: stale entries go when the map grows large.
  if (known_.size() > 100000) {
    absl::erase_if(known_, [&](const auto& entry) { return now - entry.second.checked >= ttl_; });
  }
  known_[key] = known;
  return known;
}

absl::Status Authenticator::Authorize(const Route& route, const Credentials& credentials,
                                      ApiRequest& request) {
  std::optional<Known> known;
  if (!credentials.authorization.empty()) {
    absl::string_view bearer = credentials.authorization;
    if (!absl::ConsumePrefix(&bearer, "Bearer ")) {
      return absl::UnauthenticatedError("Authorization: expected 'Bearer <API token>'");
    }
    L4D2_ASSIGN_OR_RETURN(known, Lookup(std::string(bearer), /*token=*/true));
    if (!ScopesAllow(known->scopes,
                     route.ChangesState() ? TokenScope::kWrite : TokenScope::kRead)) {
      return absl::PermissionDeniedError(route.ChangesState()
                                             ? "this API token lacks the 'write' scope"
                                             : "this API token lacks the 'read' scope");
    }
    request.credential = CredentialKind::kToken;
    request.credential_key = absl::StrCat("t:", bearer);
  } else if (!credentials.session_cookie.empty()) {
    absl::StatusOr<Known> session = Lookup(credentials.session_cookie, /*token=*/false);
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
    known = *std::move(session);
    request.credential = CredentialKind::kSession;
    request.session_secret = credentials.session_cookie;
    request.credential_key = "s:" + credentials.session_cookie;
  } else {
    if (route.access == Access::kPublic) return absl::OkStatus();
    return absl::UnauthenticatedError("sign in, or send an API token");
  }
  L4D2_RETURN_IF_ERROR(CheckAccess(route, known->user));
  request.actor = known->user.role == Role::kAdmin ? Actor::Admin(known->user.id)
                                                   : Actor::Operator(known->user.id);
  request.user = std::move(known->user);
  return absl::OkStatus();
}

}  // namespace l4d2::controller
