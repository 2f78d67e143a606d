#include "absl/strings/match.h"
#include "common/status_macros.h"
#include "controller/api/api_messages.h"
#include "controller/api/authenticator.h"
#include "controller/api/resource_routes.h"
#include "controller/api/rest_support.h"

namespace l4d2::controller {
namespace {

// Signing in and out, and one's own password.
class SessionRoutes {
 public:
  SessionRoutes(const RestApiDeps& deps, const RestApiOptions& options)
      : d_(deps), secure_cookies_(absl::StartsWith(options.public_url, "https://")) {}

  absl::StatusOr<ApiResponse> Login(const ApiRequest& request) {
    L4D2_ASSIGN_OR_RETURN(v1::LoginRequest login, Body<v1::LoginRequest>(request));
    // A client that signed in as this account before is limited on its own (device cookies).
    std::string device;
    if (d_.device_cookies != nullptr && !request.device_cookie.empty()) {
      device = d_.device_cookies->Verify(request.device_cookie, login.username()).value_or("");
    }
    L4D2_RETURN_IF_ERROR(d_.login_limiter.Check(login.username(), request.client_address, device));
    absl::StatusOr<User> user = d_.users.Authenticate(login.username(), login.password());
    if (!user.ok()) {
      if (absl::IsUnauthenticated(user.status())) {
        d_.login_limiter.RecordFailure(login.username(), request.client_address, device);
        (void)d_.stores.audit.Append(
            "anonymous", "session.login_failed", "",
            AuditDetail({{"username", login.username()}, {"address", request.client_address}}));
      }
      return user.status();
    }
    d_.login_limiter.RecordSuccess(login.username(), device);
    // A new session id at every login: a session planted before it is worth nothing.
    if (!request.session_secret.empty()) {
      (void)d_.sessions.End(request.session_secret);
      d_.authenticator.ForgetUser(user->id);
    }
    (void)d_.sessions.Prune();
    L4D2_ASSIGN_OR_RETURN(NewSession made, d_.sessions.Create(user->id));
    (void)d_.stores.audit.Append("user:" + user->id, "session.login", user->id,
                                 AuditDetail({{"address", request.client_address}}), user->id);
    ApiResponse response = Json(Info(*user, made.session));
    response.headers.push_back(
        {"Set-Cookie", CookieHeader(made.secret, d_.sessions.limits().lifetime, secure_cookies_)});
    if (d_.device_cookies != nullptr) {
      response.headers.push_back(
          {"Set-Cookie",
           DeviceCookies::SetCookie(d_.device_cookies->Issue(login.username()), secure_cookies_)});
    }
    return response;
  }

  absl::StatusOr<ApiResponse> Me(const ApiRequest& request) {
    if (request.credential != CredentialKind::kSession) {
      v1::SessionInfo info;
      *info.mutable_user() = ToApi(*request.user);
      return Json(info);
    }
    L4D2_ASSIGN_OR_RETURN(Session session, d_.sessions.Resume(request.session_secret));
    return Json(Info(*request.user, session));
  }

  absl::StatusOr<ApiResponse> Logout(const ApiRequest& request) {
    if (request.credential == CredentialKind::kSession) {
      L4D2_RETURN_IF_ERROR(d_.sessions.End(request.session_secret));
      d_.authenticator.ForgetUser(request.user->id);
      (void)d_.stores.audit.Append(request.actor.Name(), "session.logout", request.user->id, "{}",
                                   request.user->id);
    }
    ApiResponse response = NoContent();
    response.headers.push_back(
        {"Set-Cookie", CookieHeader("", absl::ZeroDuration(), secure_cookies_)});
    return response;
  }

  absl::StatusOr<ApiResponse> ChangePassword(const ApiRequest& request) {
    L4D2_ASSIGN_OR_RETURN(v1::ChangePasswordRequest change,
                          Body<v1::ChangePasswordRequest>(request));
    L4D2_RETURN_IF_ERROR(d_.login_limiter.Check(request.user->username, request.client_address));
    if (!d_.users.Authenticate(request.user->username, change.current_password()).ok()) {
      d_.login_limiter.RecordFailure(request.user->username, request.client_address);
      return absl::PermissionDeniedError("current_password: wrong password");
    }
    L4D2_RETURN_IF_ERROR(d_.users.SetPassword(request.user->id, change.new_password()));
    L4D2_RETURN_IF_ERROR(d_.sessions.EndAllOf(request.user->id).status());
    d_.authenticator.ForgetUser(request.user->id);
    (void)d_.stores.audit.Append(request.actor.Name(), "user.password", request.user->id, "{}",
                                 request.user->id);
    // Every session ended, this one too; the caller gets a fresh one.
    ApiResponse response = NoContent();
    if (request.credential == CredentialKind::kSession) {
      L4D2_ASSIGN_OR_RETURN(NewSession made, d_.sessions.Create(request.user->id));
      response = Json(Info(*request.user, made.session));
      response.headers.push_back(
          {"Set-Cookie",
           CookieHeader(made.secret, d_.sessions.limits().lifetime, secure_cookies_)});
    }
    return response;
  }

 private:
  v1::SessionInfo Info(const User& user, const Session& session) {
    v1::SessionInfo info;
    *info.mutable_user() = ToApi(user);
    info.set_csrf_token(session.csrf_token);
    *info.mutable_expires_at() = ToTimestamp(session.expires_at);
    return info;
  }

  RestApiDeps d_;
  const bool secure_cookies_;
};

}  // namespace

void AddSessionRoutes(const RestApiDeps& deps, const RestApiOptions& options,
                      std::vector<Route>& routes) {
  auto api = std::make_shared<SessionRoutes>(deps, options);
  using M = SessionRoutes;
  auto bind = [api](auto method) { return BindRoute(api, method); };
  AppendRoutes(routes, {
                           {.method = "POST",
                            .path = "/api/v1/session",
                            .access = Access::kPublic,
                            .summary = "Sign in: sets the session cookie, returns the CSRF token",
                            .request = v1::LoginRequest::descriptor(),
                            .response = v1::SessionInfo::descriptor(),
                            .handler = bind(&M::Login)},
                           {.method = "GET",
                            .path = "/api/v1/session",
                            .summary = "Who is signed in",
                            .response = v1::SessionInfo::descriptor(),
                            .handler = bind(&M::Me)},
                           {.method = "DELETE",
                            .path = "/api/v1/session",
                            .summary = "Sign out",
                            .success_status = 204,
                            .handler = bind(&M::Logout)},
                           {.method = "POST",
                            .path = "/api/v1/session/password",
                            .summary = "Change one's own password; ends every session of the user",
                            .request = v1::ChangePasswordRequest::descriptor(),
                            .response = v1::SessionInfo::descriptor(),
                            .handler = bind(&M::ChangePassword)},
                       });
}

}  // namespace l4d2::controller
