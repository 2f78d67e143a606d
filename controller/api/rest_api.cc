#include "controller/api/rest_api.h"

#include <algorithm>
#include <memory>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "common/status_macros.h"
#include "controller/api/api_messages.h"
#include "controller/api/api_metrics.h"
#include "controller/api/authenticator.h"
#include "controller/api/event_sources.h"
#include "controller/api/server_json.h"
#include "controller/jobs/scheduler.h"
#include "controller/jobs/server_actions.h"
#include "controller/store/ids.h"
#include "grpcpp/client_context.h"
#include "l4d2/controller/v1/enrollment.pb.h"
#include "l4d2/controller/v1/jobs.pb.h"
#include "rpc/grpc_status.h"
#include "rpc/proto_json.h"

namespace l4d2::controller {
namespace {

namespace pb = google::protobuf;

constexpr int kMaxPageSize = 1000;

ApiResponse Json(const pb::Message& message, int status = 200) {
  return {.status = status, .body = ToJson(message)};
}

ApiResponse NoContent() { return {.status = 204, .body = "", .content_type = ""}; }

template <typename Message>
absl::StatusOr<Message> Body(const ApiRequest& request) {
  if (request.body.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("body: expected JSON of ", Message::descriptor()->full_name()));
  }
  return FromJson<Message>(request.body, "body");
}

// Items of `all` (ordered by `key`) for one page, with the next page's token.
template <typename T, typename Key>
std::vector<const T*> Paged(const std::vector<T>& all, const PageRequest& page, Key key,
                            std::string* next_token) {
  std::vector<const T*> items;
  std::string after;
  if (!page.token.empty()) after = *PageKey(page.token);
  for (const T& item : all) {
    if (!after.empty() && key(item) <= after) continue;
    if (static_cast<int>(items.size()) == page.limit) {
      *next_token = PageToken(key(*items.back()));
      return items;
    }
    items.push_back(&item);
  }
  next_token->clear();
  return items;
}

absl::StatusOr<bool> BoolQuery(const ApiRequest& request, const std::string& name) {
  const std::string value = request.Query(name);
  if (value.empty()) return false;
  if (value == "true" || value == "1") return true;
  if (value == "false" || value == "0") return false;
  return absl::InvalidArgumentError(absl::StrCat(name, ": expected true or false"));
}

absl::StatusOr<Role> ParseRoleName(const std::string& role) {
  if (role == "admin") return Role::kAdmin;
  if (role == "operator" || role.empty()) return Role::kOperator;
  return absl::InvalidArgumentError("role: 'admin' or 'operator'");
}

std::string CookieHeader(const std::string& value, absl::Duration max_age, bool secure) {
  return absl::StrCat(kSessionCookie, "=", value, "; Path=/; HttpOnly; SameSite=Strict",
                      secure ? "; Secure" : "",
                      "; Max-Age=", std::max<int64_t>(0, absl::ToInt64Seconds(max_age)));
}

// The handlers, sharing the dependencies.
class Api {
 public:
  Api(const RestApiDeps& deps, const RestApiOptions& options)
      : d_(deps), o_(options), secure_cookies_(absl::StartsWith(options.public_url, "https://")) {}

  // --- Health and enrollment ---

  absl::StatusOr<ApiResponse> Healthz(const ApiRequest&) {
    return ApiResponse{.body = R"({"status":"ok"})"};
  }

  absl::StatusOr<ApiResponse> Readyz(const ApiRequest&) {
    absl::Status db = d_.db.Ping();
    if (!db.ok()) {
      // The database's error stays in the log: it may name hosts or users.
      L4D2_LOG(WARNING) << "readyz: " << db.message();
      return absl::UnavailableError("database unavailable");
    }
    return ApiResponse{.body = R"({"status":"ready"})"};
  }

  absl::StatusOr<ApiResponse> Metrics(const ApiRequest&) {
    absl::StatusOr<std::string> text = d_.metrics.Render();
    if (!text.ok()) return absl::UnavailableError("database unavailable");
    return ApiResponse{.body = *std::move(text),
                       .content_type = "text/plain; version=0.0.4; charset=utf-8"};
  }

  absl::StatusOr<ApiResponse> Enroll(const ApiRequest& request) {
    L4D2_ASSIGN_OR_RETURN(v1::EnrollRequest enroll, Body<v1::EnrollRequest>(request));
    L4D2_ASSIGN_OR_RETURN(v1::EnrollResponse enrolled, d_.enrollment->Enroll(enroll));
    L4D2_LOG(INFO) << "host " << enrolled.host_id() << " enrolled";
    return Json(enrolled);
  }

  // --- Sessions ---

  absl::StatusOr<ApiResponse> Login(const ApiRequest& request) {
    L4D2_ASSIGN_OR_RETURN(v1::LoginRequest login, Body<v1::LoginRequest>(request));
    L4D2_RETURN_IF_ERROR(d_.login_limiter.Check(login.username(), request.client_address));
    absl::StatusOr<User> user = d_.users.Authenticate(login.username(), login.password());
    if (!user.ok()) {
      if (absl::IsUnauthenticated(user.status())) {
        d_.login_limiter.RecordFailure(login.username(), request.client_address);
        (void)d_.stores.audit.Append(
            "anonymous", "session.login_failed", "",
            AuditDetail({{"username", login.username()}, {"address", request.client_address}}));
      }
      return user.status();
    }
    d_.login_limiter.RecordSuccess(login.username());
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

  // --- Users (admins) ---

  absl::StatusOr<ApiResponse> ListUsers(const ApiRequest& request) {
    L4D2_ASSIGN_OR_RETURN(PageRequest page, ParsePage(request));
    L4D2_ASSIGN_OR_RETURN(std::vector<User> users, d_.users.List());
    const std::string role = request.Query("role");
    const std::string prefix = request.Query("q");
    std::vector<User> matching;
    for (User& user : users) {
      if (!role.empty() && role != RoleName(user.role)) continue;
      if (!absl::StartsWith(user.username, prefix)) continue;
      matching.push_back(std::move(user));
    }
    v1::ListUsersResponse response;
    for (const User* user : Paged(
             matching, page, [](const User& u) { return u.username; },
             response.mutable_next_page_token())) {
      *response.add_users() = ToApi(*user);
    }
    return Json(response);
  }

  absl::StatusOr<ApiResponse> CreateUser(const ApiRequest& request) {
    L4D2_ASSIGN_OR_RETURN(v1::CreateUserRequest create, Body<v1::CreateUserRequest>(request));
    L4D2_ASSIGN_OR_RETURN(Role role, ParseRoleName(create.role()));
    L4D2_ASSIGN_OR_RETURN(User user, d_.users.Create(create.username(), create.password(), role));
    (void)d_.stores.audit.Append(
        request.actor.Name(), "user.create", user.id,
        AuditDetail({{"username", user.username}, {"role", RoleName(role)}}));
    return Json(ToApi(user), 201);
  }

  absl::StatusOr<ApiResponse> GetUser(const ApiRequest& request) {
    L4D2_ASSIGN_OR_RETURN(User user, d_.users.Get(request.Param("id")));
    return Json(ToApi(user));
  }

  absl::StatusOr<ApiResponse> UpdateUser(const ApiRequest& request) {
    L4D2_ASSIGN_OR_RETURN(v1::UpdateUserRequest update, Body<v1::UpdateUserRequest>(request));
    L4D2_ASSIGN_OR_RETURN(User user, d_.users.Get(request.Param("id")));
    Role role = user.role;
    if (update.has_role()) {
      if (update.role().empty()) return absl::InvalidArgumentError("role: 'admin' or 'operator'");
      L4D2_ASSIGN_OR_RETURN(role, ParseRoleName(update.role()));
    }
    if (update.has_password()) {
      L4D2_RETURN_IF_ERROR(ValidatePassword(update.password()));
    }
    const bool disabled = update.has_disabled() ? update.disabled() : user.disabled;
    L4D2_ASSIGN_OR_RETURN(user, d_.users.Update(user.id, role, disabled));
    if (update.has_password()) {
      L4D2_RETURN_IF_ERROR(d_.users.SetPassword(user.id, update.password()));
    }
    if (update.has_password() || disabled) {
      L4D2_RETURN_IF_ERROR(d_.sessions.EndAllOf(user.id).status());
    }
    // A new role or a disabled flag counts from the next request.
    d_.authenticator.ForgetUser(user.id);
    (void)d_.stores.audit.Append(
        request.actor.Name(), "user.update", user.id,
        AuditDetail({{"role", RoleName(role)},
                     {"disabled", disabled ? "true" : "false"},
                     {"password", update.has_password() ? "changed" : "unchanged"}}));
    return Json(ToApi(user));
  }

  // --- API tokens ---

  absl::StatusOr<ApiResponse> ListTokens(const ApiRequest& request) {
    L4D2_ASSIGN_OR_RETURN(PageRequest page, ParsePage(request));
    L4D2_ASSIGN_OR_RETURN(std::vector<ApiToken> tokens, d_.tokens.List(request.actor));
    // Newest first (ids sort by creation time): a page holds the tokens older than its key.
    const std::string before = page.token.empty() ? "" : *PageKey(page.token);
    v1::ListApiTokensResponse response;
    for (const ApiToken& token : tokens) {
      if (!before.empty() && token.id >= before) continue;
      if (response.tokens_size() == page.limit) {
        response.set_next_page_token(PageToken(response.tokens(page.limit - 1).id()));
        break;
      }
      *response.add_tokens() = ToApi(token);
    }
    return Json(response);
  }

  absl::StatusOr<ApiResponse> CreateToken(const ApiRequest& request) {
    L4D2_ASSIGN_OR_RETURN(v1::CreateApiTokenRequest create,
                          Body<v1::CreateApiTokenRequest>(request));
    std::string secret;
    L4D2_ASSIGN_OR_RETURN(
        ApiToken token,
        d_.tokens.Create(request.actor, create.name(),
                         std::vector<std::string>(create.scopes().begin(), create.scopes().end()),
                         &secret));
    (void)d_.stores.audit.Append(request.actor.Name(), "token.create", token.id,
                                 AuditDetail({{"name", token.name}}), token.user_id);
    v1::CreateApiTokenResponse response;
    *response.mutable_token() = ToApi(token);
    response.set_secret(secret);
    return Json(response, 201);
  }

  absl::StatusOr<ApiResponse> RevokeToken(const ApiRequest& request) {
    L4D2_ASSIGN_OR_RETURN(ApiToken token, d_.tokens.Revoke(request.actor, request.Param("id")));
    d_.authenticator.ForgetUser(token.user_id);
    (void)d_.stores.audit.Append(request.actor.Name(), "token.revoke", token.id,
                                 AuditDetail({{"name", token.name}}), token.user_id);
    return NoContent();
  }

  // --- Hosts (admins) ---

  absl::StatusOr<ApiResponse> ListHosts(const ApiRequest& request) {
    L4D2_ASSIGN_OR_RETURN(PageRequest page, ParsePage(request));
    L4D2_ASSIGN_OR_RETURN(std::vector<Host> hosts, d_.stores.hosts.List());
    L4D2_ASSIGN_OR_RETURN(auto counts, ServerCounts());
    const std::string state = request.Query("state");
    std::vector<Host> matching;
    for (Host& host : hosts) {
      if (state.empty() || host.state == state) matching.push_back(std::move(host));
    }
    v1::ListHostsResponse response;
    for (const Host* host : Paged(
             matching, page, [](const Host& h) { return h.name; },
             response.mutable_next_page_token())) {
      *response.add_hosts() = ToApi(*host, counts[host->id]);
    }
    return Json(response);
  }

  absl::StatusOr<ApiResponse> CreateHost(const ApiRequest& request) {
    L4D2_ASSIGN_OR_RETURN(v1::CreateHostRequest create, Body<v1::CreateHostRequest>(request));
    NewHost host{.name = create.name(), .address = create.address()};
    if (create.max_instances() != 0) host.max_instances = create.max_instances();
    if (create.port_first() != 0) host.port_first = create.port_first();
    if (create.port_last() != 0) host.port_last = create.port_last();
    L4D2_ASSIGN_OR_RETURN(auto created, d_.stores.hosts.Create(host, o_.enrollment_token_ttl));
    (void)d_.stores.audit.Append(
        request.actor.Name(), "host.create", created.first.id,
        AuditDetail({{"name", created.first.name}, {"address", created.first.address}}));
    v1::CreateHostResponse response;
    *response.mutable_host() = ToApi(created.first, 0);
    response.set_enrollment_token(created.second);
    *response.mutable_token_expires_at() =
        ToTimestamp(d_.stores.clock.Now() + o_.enrollment_token_ttl);
    response.set_enroll_command(
        absl::StrCat("l4d2-agent --config /etc/left4me/agent.yaml enroll --controller ",
                     o_.public_url, " --token_file TOKEN_FILE"));
    return Json(response, 201);
  }

  absl::StatusOr<ApiResponse> GetHost(const ApiRequest& request) {
    L4D2_ASSIGN_OR_RETURN(Host host, d_.stores.hosts.Get(request.Param("id")));
    L4D2_ASSIGN_OR_RETURN(auto counts, ServerCounts());
    return Json(ToApi(host, counts[host.id]));
  }

  absl::StatusOr<ApiResponse> DrainHost(const ApiRequest& request, bool drained) {
    const std::string& id = request.Param("id");
    L4D2_RETURN_IF_ERROR(d_.stores.hosts.SetDrained(id, drained));
    (void)d_.stores.audit.Append(request.actor.Name(), drained ? "host.drain" : "host.undrain", id);
    return GetHost(request);
  }

  absl::StatusOr<ApiResponse> DeleteHost(const ApiRequest& request) {
    const std::string& id = request.Param("id");
    L4D2_RETURN_IF_ERROR(d_.stores.hosts.Delete(id));
    (void)d_.stores.audit.Append(request.actor.Name(), "host.delete", id);
    return NoContent();
  }

  absl::StatusOr<ApiResponse> InstallHost(const ApiRequest& request) {
    v1::InstallHostRequest install;
    if (!request.body.empty()) {
      L4D2_ASSIGN_OR_RETURN(install, Body<v1::InstallHostRequest>(request));
    }
    L4D2_ASSIGN_OR_RETURN(Host host, d_.stores.hosts.Get(request.Param("id")));
    NewJob job = HostInstallJob(host.id, request.actor.Name());
    v1::HostInstallParams params;
    params.set_host_id(host.id);
    params.set_validate(install.validate());
    params.set_branch(install.branch());
    job.params = ToJson(params);
    L4D2_ASSIGN_OR_RETURN(std::string job_id, d_.stores.jobs.Enqueue(job));
    (void)d_.stores.audit.Append(request.actor.Name(), "host.install", host.id,
                                 AuditDetail({{"job", job_id}}));
    v1::JobRef ref;
    ref.set_job_id(job_id);
    return Json(ref, 202);
  }

  // --- Overlays ---

  absl::StatusOr<ApiResponse> ListOverlays(const ApiRequest& request) {
    L4D2_ASSIGN_OR_RETURN(PageRequest page, ParsePage(request));
    L4D2_ASSIGN_OR_RETURN(std::vector<Overlay> overlays, d_.stores.overlays.List(request.actor));
    const std::string global = request.Query("global");
    L4D2_ASSIGN_OR_RETURN(bool only_global, BoolQuery(request, "global"));
    std::vector<Overlay> matching;
    for (Overlay& overlay : overlays) {
      if (!global.empty() && overlay.owner_id.empty() != only_global) continue;
      matching.push_back(std::move(overlay));
    }
    std::sort(matching.begin(), matching.end(),
              [](const Overlay& a, const Overlay& b) { return a.ref < b.ref; });
    v1::ListOverlaysResponse response;
    for (const Overlay* overlay : Paged(
             matching, page, [](const Overlay& o) { return o.ref; },
             response.mutable_next_page_token())) {
      *response.add_overlays() = ToApi(*overlay);
    }
    return Json(response);
  }

  absl::StatusOr<ApiResponse> CreateOverlay(const ApiRequest& request) {
    L4D2_ASSIGN_OR_RETURN(v1::CreateOverlayRequest create, Body<v1::CreateOverlayRequest>(request));
    L4D2_ASSIGN_OR_RETURN(
        Overlay overlay,
        d_.stores.overlays.Create(request.actor, create.ref(), create.global(), create.source()));
    (void)d_.stores.audit.Append(request.actor.Name(), "overlay.create", overlay.id,
                                 AuditDetail({{"ref", overlay.ref}}), overlay.owner_id);
    return Json(ToApi(overlay), 201);
  }

  absl::StatusOr<ApiResponse> GetOverlay(const ApiRequest& request) {
    L4D2_ASSIGN_OR_RETURN(Overlay overlay,
                          d_.stores.overlays.Get(request.actor, request.Param("id")));
    return Json(ToApi(overlay));
  }

  absl::StatusOr<ApiResponse> UpdateOverlay(const ApiRequest& request) {
    L4D2_ASSIGN_OR_RETURN(v1::UpdateOverlayRequest update, Body<v1::UpdateOverlayRequest>(request));
    L4D2_ASSIGN_OR_RETURN(
        Overlay overlay,
        d_.stores.overlays.Update(request.actor, request.Param("id"), update.source()));
    (void)d_.stores.audit.Append(
        request.actor.Name(), "overlay.update", overlay.id,
        AuditDetail({{"ref", overlay.ref}, {"revision", absl::StrCat(overlay.revision)}}),
        overlay.owner_id);
    return Json(ToApi(overlay));
  }

  absl::StatusOr<ApiResponse> DeleteOverlay(const ApiRequest& request) {
    L4D2_ASSIGN_OR_RETURN(Overlay overlay,
                          d_.stores.overlays.Get(request.actor, request.Param("id")));
    L4D2_RETURN_IF_ERROR(d_.stores.overlays.Delete(request.actor, overlay.id));
    (void)d_.stores.audit.Append(request.actor.Name(), "overlay.delete", overlay.id,
                                 AuditDetail({{"ref", overlay.ref}}), overlay.owner_id);
    return NoContent();
  }

  // Syncs the overlay to every ready host now (servers' jobs sync what they need anyway).
  absl::StatusOr<ApiResponse> SyncOverlay(const ApiRequest& request) {
    L4D2_ASSIGN_OR_RETURN(Overlay overlay,
                          d_.stores.overlays.Get(request.actor, request.Param("id")));
    if (!request.actor.Owns(overlay.owner_id)) {
      return absl::PermissionDeniedError("only admins sync global overlays");
    }
    L4D2_ASSIGN_OR_RETURN(std::vector<Host> hosts, d_.stores.hosts.List());
    v1::JobRefs refs;
    for (const Host& host : hosts) {
      if (host.state != "ready") continue;
      L4D2_ASSIGN_OR_RETURN(std::string job_id, d_.stores.jobs.Enqueue(OverlaySyncJob(
                                                    overlay.id, host.id, request.actor.Name())));
      refs.add_job_ids(job_id);
    }
    (void)d_.stores.audit.Append(
        request.actor.Name(), "overlay.sync", overlay.id,
        AuditDetail({{"ref", overlay.ref}, {"hosts", absl::StrCat(refs.job_ids_size())}}),
        overlay.owner_id);
    return Json(refs, 202);
  }

  // --- Blueprints ---

  absl::StatusOr<ApiResponse> ListBlueprints(const ApiRequest& request) {
    L4D2_ASSIGN_OR_RETURN(PageRequest page, ParsePage(request));
    L4D2_ASSIGN_OR_RETURN(std::vector<Blueprint> blueprints,
                          d_.stores.blueprints.List(request.actor));
    const std::string prefix = request.Query("q");
    std::vector<Blueprint> matching;
    for (Blueprint& blueprint : blueprints) {
      if (absl::StartsWith(blueprint.name, prefix)) matching.push_back(std::move(blueprint));
    }
    // Names are unique per owner: the page key is the name and the id.
    auto key = [](const Blueprint& b) { return absl::StrCat(b.name, "/", b.id); };
    std::sort(matching.begin(), matching.end(),
              [&](const Blueprint& a, const Blueprint& b) { return key(a) < key(b); });
    v1::ListBlueprintsResponse response;
    for (const Blueprint* blueprint :
         Paged(matching, page, key, response.mutable_next_page_token())) {
      *response.add_blueprints() = ToApi(*blueprint);
    }
    return Json(response);
  }

  static BlueprintInput ToInput(const v1::BlueprintInput& input) {
    BlueprintInput out{.name = input.name(), .settings = input.settings()};
    for (const v1::BlueprintOverlay& overlay : input.overlays()) {
      out.overlays.push_back(
          {.overlay_id = overlay.overlay_id(), .exec_server_cfg = overlay.exec_server_cfg()});
    }
    return out;
  }

  absl::StatusOr<ApiResponse> CreateBlueprint(const ApiRequest& request) {
    L4D2_ASSIGN_OR_RETURN(v1::BlueprintInput input, Body<v1::BlueprintInput>(request));
    L4D2_ASSIGN_OR_RETURN(Blueprint blueprint,
                          d_.stores.blueprints.Create(request.actor, ToInput(input)));
    (void)d_.stores.audit.Append(request.actor.Name(), "blueprint.create", blueprint.id,
                                 AuditDetail({{"name", blueprint.name}}), blueprint.owner_id);
    return Json(ToApi(blueprint), 201);
  }

  absl::StatusOr<ApiResponse> GetBlueprint(const ApiRequest& request) {
    L4D2_ASSIGN_OR_RETURN(Blueprint blueprint,
                          d_.stores.blueprints.Get(request.actor, request.Param("id")));
    return Json(ToApi(blueprint));
  }

  absl::StatusOr<ApiResponse> UpdateBlueprint(const ApiRequest& request) {
    L4D2_ASSIGN_OR_RETURN(v1::BlueprintInput input, Body<v1::BlueprintInput>(request));
    L4D2_ASSIGN_OR_RETURN(
        Blueprint blueprint,
        d_.stores.blueprints.Update(request.actor, request.Param("id"), ToInput(input)));
    (void)d_.stores.audit.Append(request.actor.Name(), "blueprint.update", blueprint.id,
                                 AuditDetail({{"name", blueprint.name}}), blueprint.owner_id);
    return Json(ToApi(blueprint));
  }

  absl::StatusOr<ApiResponse> DeleteBlueprint(const ApiRequest& request) {
    L4D2_ASSIGN_OR_RETURN(Blueprint blueprint,
                          d_.stores.blueprints.Get(request.actor, request.Param("id")));
    L4D2_RETURN_IF_ERROR(d_.stores.blueprints.Delete(request.actor, blueprint.id));
    (void)d_.stores.audit.Append(request.actor.Name(), "blueprint.delete", blueprint.id,
                                 AuditDetail({{"name", blueprint.name}}), blueprint.owner_id);
    return NoContent();
  }

  // --- Servers ---

  // Paged in SQL: the fleet's biggest list.
  absl::StatusOr<ApiResponse> ListServers(const ApiRequest& request) {
    L4D2_ASSIGN_OR_RETURN(PageRequest page, ParsePage(request));
    ServerFilter filter{.host_id = request.Query("host_id"),
                        .blueprint_id = request.Query("blueprint_id"),
                        .desired_state = request.Query("desired_state"),
                        .actual_state = request.Query("actual_state"),
                        .name_prefix = request.Query("q"),
                        .limit = page.limit + 1};
    if (!page.token.empty()) filter.after_name = *PageKey(page.token);
    // Ids and revisions from an index; full rows only for those not shown at that revision.
    L4D2_ASSIGN_OR_RETURN(std::vector<ServerRevision> servers,
                          d_.stores.servers.ListRevisions(request.actor, filter));
    const size_t count = std::min(servers.size(), static_cast<size_t>(page.limit));
    const std::string next = servers.size() > count ? PageToken(servers[count - 1].name) : "";
    L4D2_ASSIGN_OR_RETURN(std::string body,
                          server_json_.ListJson(absl::MakeConstSpan(servers).first(count), next,
                                                [&](absl::Span<const std::string> ids) {
                                                  return d_.stores.servers.GetMany(request.actor,
                                                                                   ids);
                                                }));
    return ApiResponse{.body = std::move(body)};
  }

  absl::StatusOr<ApiResponse> CreateServer(const ApiRequest& request) {
    L4D2_ASSIGN_OR_RETURN(v1::CreateServerRequest create, Body<v1::CreateServerRequest>(request));
    const std::string desired = create.desired_state().empty() ? "running" : create.desired_state();
    L4D2_ASSIGN_OR_RETURN(QueuedServerJob queued,
                          controller::CreateServer(d_.stores, request.actor, create.name(),
                                                   create.blueprint_id(), desired));
    v1::CreateServerResponse response;
    *response.mutable_server() = ToApi(queued.server);
    response.set_job_id(queued.job_id);
    return Json(response, 202);
  }

  absl::StatusOr<ApiResponse> GetServer(const ApiRequest& request) {
    L4D2_ASSIGN_OR_RETURN(Server server, d_.stores.servers.Get(request.actor, request.Param("id")));
    return ApiResponse{.body = server_json_.Json(server)};
  }

  absl::StatusOr<ApiResponse> ServerAction(const ApiRequest& request, const std::string& action) {
    L4D2_ASSIGN_OR_RETURN(std::string job_id, RequestServerAction(d_.stores, request.actor,
                                                                  request.Param("id"), action));
    v1::JobRef ref;
    ref.set_job_id(job_id);
    return Json(ref, 202);
  }

  absl::StatusOr<ApiResponse> ChangeServerBlueprint(const ApiRequest& request) {
    L4D2_ASSIGN_OR_RETURN(v1::ChangeBlueprintRequest change,
                          Body<v1::ChangeBlueprintRequest>(request));
    L4D2_ASSIGN_OR_RETURN(
        std::string job_id,
        ChangeBlueprint(d_.stores, request.actor, request.Param("id"), change.blueprint_id()));
    v1::JobRef ref;
    ref.set_job_id(job_id);
    return Json(ref, 202);
  }

  // The server's host, for a call to its agent. FAILED_PRECONDITION before placement.
  absl::StatusOr<std::pair<Server, Host>> Placed(const ApiRequest& request) {
    L4D2_ASSIGN_OR_RETURN(Server server, d_.stores.servers.Get(request.actor, request.Param("id")));
    if (server.host_id.empty()) {
      return absl::FailedPreconditionError(
          absl::StrCat("server '", server.name, "' is not placed on a host yet"));
    }
    L4D2_ASSIGN_OR_RETURN(Host host, d_.stores.hosts.Get(server.host_id));
    return std::make_pair(std::move(server), std::move(host));
  }

  absl::StatusOr<ApiResponse> Console(const ApiRequest& request) {
    L4D2_ASSIGN_OR_RETURN(v1::ConsoleCommandRequest console,
                          Body<v1::ConsoleCommandRequest>(request));
    if (console.command().empty() || console.command().size() > 1000 ||
        console.command().find_first_of("\r\n") != std::string::npos) {
      return absl::InvalidArgumentError("command: 1 to 1000 bytes on one line");
    }
    L4D2_ASSIGN_OR_RETURN(auto placed, Placed(request));
    const auto& [server, host] = placed;
    agent::v1::ExecuteConsoleCommandRequest call;
    call.set_operation_id(absl::StrCat("console:", RandomHex(12)));
    call.set_name(server.name);
    call.set_command(console.command());
    agent::v1::ExecuteConsoleCommandResponse answer;
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + o_.agent_timeout));
    // Audited before it runs: a command that hangs or kills the server is on record too.
    (void)d_.stores.audit.Append(
        request.actor.Name(), "server.console", server.id,
        AuditDetail({{"name", server.name}, {"command", console.command()}}), server.owner_id);
    L4D2_RETURN_IF_ERROR(
        FromGrpcStatus(d_.agents.Stub(host)->ExecuteConsoleCommand(&context, call, &answer)));
    d_.events.EchoCommand(server, request.user->username, console.command(), answer.output());
    v1::ConsoleCommandResponse response;
    response.set_output(answer.output());
    return Json(response);
  }

  absl::StatusOr<ApiResponse> Logs(const ApiRequest& request) {
    int lines = 200;
    if (const std::string text = request.Query("lines"); !text.empty()) {
      if (!absl::SimpleAtoi(text, &lines) || lines < 1 || lines > 10000) {
        return absl::InvalidArgumentError("lines: 1 to 10000");
      }
    }
    L4D2_ASSIGN_OR_RETURN(auto placed, Placed(request));
    const auto& [server, host] = placed;
    agent::v1::StreamLogsRequest call;
    call.set_name(server.name);
    call.set_lines(lines);
    call.set_after_cursor(request.Query("after_cursor"));
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + o_.agent_timeout));
    auto reader = d_.agents.Stub(host)->StreamLogs(&context, call);
    v1::ServerLogsResponse response;
    agent::v1::LogBatch batch;
    while (reader->Read(&batch)) {
      for (const agent::v1::LogLine& line : batch.lines()) *response.add_lines() = ToApi(line);
    }
    L4D2_RETURN_IF_ERROR(FromGrpcStatus(reader->Finish()));
    return Json(response);
  }

  absl::StatusOr<ApiResponse> ServerMetrics(const ApiRequest& request) {
    L4D2_ASSIGN_OR_RETURN(Server server, d_.stores.servers.Get(request.actor, request.Param("id")));
    const absl::Time now = d_.stores.clock.Now();
    L4D2_ASSIGN_OR_RETURN(absl::Time from, TimeQuery(request, "from", now - absl::Hours(1)));
    L4D2_ASSIGN_OR_RETURN(absl::Time to, TimeQuery(request, "to", now + absl::Seconds(1)));
    if (to <= from) return absl::InvalidArgumentError("to: must be after from");
    L4D2_ASSIGN_OR_RETURN(std::vector<MetricSample> samples,
                          d_.stores.servers.Metrics(server.id, from, to));
    v1::MetricSeries series;
    series.set_server_id(server.id);
    for (const MetricSample& sample : samples) *series.add_samples() = ToApi(sample);
    return Json(series);
  }

  absl::StatusOr<ApiResponse> Bulk(const ApiRequest& request) {
    L4D2_ASSIGN_OR_RETURN(v1::BulkActionRequest bulk, Body<v1::BulkActionRequest>(request));
    std::vector<std::string> ids(bulk.server_ids().begin(), bulk.server_ids().end());
    const int selectors = (ids.empty() ? 0 : 1) + (bulk.host_id().empty() ? 0 : 1) +
                          (bulk.blueprint_id().empty() ? 0 : 1);
    if (selectors != 1) {
      return absl::InvalidArgumentError(
          "selection: exactly one of server_ids, host_id or blueprint_id");
    }
    if (ids.size() > 10000) return absl::InvalidArgumentError("server_ids: at most 10000");
    if (ids.empty()) {
      L4D2_ASSIGN_OR_RETURN(
          ids, SelectServers(d_.stores, request.actor,
                             {.host_id = bulk.host_id(), .blueprint_id = bulk.blueprint_id()}));
    }
    absl::Duration stagger =
        absl::Seconds(bulk.stagger().seconds()) + absl::Nanoseconds(bulk.stagger().nanos());
    if (stagger > absl::Hours(1)) return absl::InvalidArgumentError("stagger: at most 1h");
    L4D2_ASSIGN_OR_RETURN(std::vector<std::string> jobs,
                          RequestBulkAction(d_.stores, request.actor, ids, bulk.action(), stagger));
    v1::JobRefs refs;
    for (const std::string& job : jobs) refs.add_job_ids(job);
    return Json(refs, 202);
  }

  // --- Jobs ---

  // The job, if the caller may see it: theirs, or one of their servers'.
  absl::StatusOr<Job> VisibleJob(const ApiRequest& request) {
    const absl::Status missing =
        absl::NotFoundError(absl::StrCat("no job '", request.Param("id"), "'"));
    absl::StatusOr<Job> job = d_.stores.jobs.Get(request.Param("id"));
    if (!job.ok()) return absl::IsNotFound(job.status()) ? missing : job.status();
    if (request.actor.admin || job->created_by == request.actor.Name()) return job;
    if (absl::StartsWith(job->lock_key, "server:") &&
        d_.stores.servers.Get(request.actor, job->lock_key.substr(7)).ok()) {
      return job;
    }
    return missing;
  }

  absl::StatusOr<ApiResponse> ListJobs(const ApiRequest& request) {
    L4D2_ASSIGN_OR_RETURN(PageRequest page, ParsePage(request));
    JobListQuery query{.visible_to = request.actor.admin ? "" : request.actor.user_id,
                       .kind = request.Query("kind"),
                       .limit = page.limit + 1};
    if (!page.token.empty()) query.before_id = *PageKey(page.token);
    if (const std::string state = request.Query("state"); !state.empty()) {
      bool known = false;
      for (JobState s : {JobState::kQueued, JobState::kRunning, JobState::kSucceeded,
                         JobState::kFailed, JobState::kCancelled}) {
        if (state == JobStateName(s)) {
          query.state = s;
          known = true;
        }
      }
      if (!known) {
        return absl::InvalidArgumentError("state: queued, running, succeeded, failed or cancelled");
      }
    }
    if (const std::string server = request.Query("server_id"); !server.empty()) {
      query.lock_key = "server:" + server;
    }
    L4D2_ASSIGN_OR_RETURN(std::vector<Job> jobs, d_.stores.jobs.List(query));
    v1::ListJobsResponse response;
    for (size_t i = 0; i < jobs.size() && static_cast<int>(i) < page.limit; ++i) {
      *response.add_jobs() = ToApi(jobs[i]);
    }
    if (static_cast<int>(jobs.size()) > page.limit) {
      response.set_next_page_token(PageToken(jobs[page.limit - 1].id));
    }
    return Json(response);
  }

  absl::StatusOr<ApiResponse> GetJob(const ApiRequest& request) {
    L4D2_ASSIGN_OR_RETURN(Job job, VisibleJob(request));
    return Json(ToApi(job));
  }

  absl::StatusOr<ApiResponse> CancelJob(const ApiRequest& request) {
    L4D2_ASSIGN_OR_RETURN(Job job, VisibleJob(request));
    L4D2_RETURN_IF_ERROR(d_.stores.jobs.Cancel(job.id));
    (void)d_.stores.audit.Append(request.actor.Name(), "job.cancel", job.id,
                                 AuditDetail({{"kind", job.kind}}));
    L4D2_ASSIGN_OR_RETURN(job, d_.stores.jobs.Get(job.id));
    return Json(ToApi(job), 202);
  }

  absl::StatusOr<ApiResponse> JobEvents(const ApiRequest& request) {
    L4D2_ASSIGN_OR_RETURN(Job job, VisibleJob(request));
    L4D2_ASSIGN_OR_RETURN(PageRequest page, ParsePage(request));
    int64_t after = 0;
    if (!page.token.empty() && !absl::SimpleAtoi(*PageKey(page.token), &after)) {
      return absl::InvalidArgumentError("page_token: not a token of this list");
    }
    L4D2_ASSIGN_OR_RETURN(std::vector<JobEvent> events,
                          d_.stores.jobs.Events(job.id, after, page.limit + 1));
    v1::ListJobEventsResponse response;
    for (size_t i = 0; i < events.size() && static_cast<int>(i) < page.limit; ++i) {
      *response.add_events() = ToApi(events[i]);
    }
    if (static_cast<int>(events.size()) > page.limit) {
      response.set_next_page_token(PageToken(absl::StrCat(events[page.limit - 1].seq)));
    }
    return Json(response);
  }

  // --- Audit ---

  absl::StatusOr<ApiResponse> Audit(const ApiRequest& request) {
    L4D2_ASSIGN_OR_RETURN(PageRequest page, ParsePage(request));
    AuditQuery query{.visible_to = request.actor.admin ? "" : request.actor.user_id,
                     .limit = page.limit + 1};
    if (!page.token.empty()) query.before_id = *PageKey(page.token);
    L4D2_ASSIGN_OR_RETURN(std::vector<AuditEntry> entries, d_.stores.audit.List(query));
    v1::ListAuditResponse response;
    for (size_t i = 0; i < entries.size() && static_cast<int>(i) < page.limit; ++i) {
      *response.add_entries() = ToApi(entries[i]);
    }
    if (static_cast<int>(entries.size()) > page.limit) {
      response.set_next_page_token(PageToken(entries[page.limit - 1].id));
    }
    return Json(response);
  }

  // --- Event streams ---

  absl::StatusOr<StreamRequest> FleetStream(const ApiRequest& request) {
    StreamRequest stream{.topic = EventSources::kFleetTopic};
    if (request.last_event_id.empty()) {
      stream.from_now = true;
      return stream;
    }
    L4D2_ASSIGN_OR_RETURN(
        std::vector<AuditEntry> missed,
        d_.stores.audit.List({.visible_to = request.actor.admin ? "" : request.actor.user_id,
                              .after_id = request.last_event_id,
                              .limit = 1000}));
    stream.after_id = request.last_event_id;
    for (const AuditEntry& entry : missed) {
      stream.replay.push_back(EventSources::AuditEvent(entry));
      stream.after_id = entry.id;
    }
    return stream;
  }

  absl::StatusOr<StreamRequest> JobStream(const ApiRequest& request) {
    L4D2_ASSIGN_OR_RETURN(Job job, VisibleJob(request));
    StreamRequest stream{.topic = EventSources::JobTopic(job.id)};
    int64_t after = 0;
    if (!request.last_event_id.empty()) {
      after = EventSources::JobEventSeq(request.last_event_id);
      if (after < 0) return absl::InvalidArgumentError("Last-Event-ID: not an id of this stream");
      stream.after_id = request.last_event_id;
    }
    // Read the job before its events: an end event then follows every event of the job.
    const bool ended = job.state == JobState::kSucceeded || job.state == JobState::kFailed ||
                       job.state == JobState::kCancelled;
    for (;;) {
      L4D2_ASSIGN_OR_RETURN(std::vector<JobEvent> events,
                            d_.stores.jobs.Events(job.id, after, 1000));
      for (const JobEvent& event : events) {
        stream.replay.push_back(EventSources::JobStreamEvent(event));
        after = event.seq;
      }
      if (events.size() < 1000) break;
    }
    if (ended && !absl::EndsWith(request.last_event_id, ".end")) {
      stream.replay.push_back(EventSources::JobEndEvent(job, after));
    }
    if (!stream.replay.empty()) stream.after_id = stream.replay.back().id;
    return stream;
  }

  absl::StatusOr<StreamRequest> ConsoleStream(const ApiRequest& request) {
    L4D2_ASSIGN_OR_RETURN(Server server, d_.stores.servers.Get(request.actor, request.Param("id")));
    // Recent lines come from the topic's history (the follow starts with the newest lines).
    return StreamRequest{.topic = EventSources::ConsoleTopic(server.id),
                         .after_id = request.last_event_id};
  }

 private:
  v1::SessionInfo Info(const User& user, const Session& session) {
    v1::SessionInfo info;
    *info.mutable_user() = ToApi(user);
    info.set_csrf_token(session.csrf_token);
    *info.mutable_expires_at() = ToTimestamp(session.expires_at);
    return info;
  }

  // Servers per host, counted in SQL (not by reading every server row).
  absl::StatusOr<absl::flat_hash_map<std::string, int>> ServerCounts() {
    return d_.stores.servers.CountByHost();
  }

  static absl::StatusOr<absl::Time> TimeQuery(const ApiRequest& request, const std::string& name,
                                              absl::Time fallback) {
    const std::string text = request.Query(name);
    if (text.empty()) return fallback;
    absl::Time time;
    std::string error;
    if (!absl::ParseTime(absl::RFC3339_full, text, &time, &error)) {
      return absl::InvalidArgumentError(
          absl::StrCat(name, ": expected an RFC 3339 time, got '", text.substr(0, 64), "'"));
    }
    return time;
  }

  RestApiDeps d_;
  RestApiOptions o_;
  const bool secure_cookies_;
  ServerJsonCache server_json_;
};

}  // namespace

absl::StatusOr<PageRequest> ParsePage(const ApiRequest& request) {
  PageRequest page;
  if (const std::string limit = request.Query("limit"); !limit.empty()) {
    if (!absl::SimpleAtoi(limit, &page.limit) || page.limit < 1 || page.limit > kMaxPageSize) {
      return absl::InvalidArgumentError(absl::StrCat("limit: 1 to ", kMaxPageSize));
    }
  }
  page.token = request.Query("page_token");
  if (!page.token.empty()) L4D2_RETURN_IF_ERROR(PageKey(page.token).status());
  return page;
}

std::string PageToken(const std::string& key) { return absl::WebSafeBase64Escape(key); }

absl::StatusOr<std::string> PageKey(const std::string& token) {
  std::string key;
  if (token.size() > 512 || !absl::WebSafeBase64Unescape(token, &key) || key.empty()) {
    return absl::InvalidArgumentError("page_token: not a token of this list");
  }
  return key;
}

std::vector<Route> BuildRoutes(const RestApiDeps& deps, const RestApiOptions& options) {
  auto api = std::make_shared<Api>(deps, options);
  using M = Api;
  auto bind = [api](absl::StatusOr<ApiResponse> (M::*method)(const ApiRequest&)) {
    return [api, method](const ApiRequest& request) { return ((*api).*method)(request); };
  };
  auto stream = [api](absl::StatusOr<StreamRequest> (M::*method)(const ApiRequest&)) {
    return [api, method](const ApiRequest& request) { return ((*api).*method)(request); };
  };
  std::vector<Route> routes = {
      {.method = "GET",
       .path = "/healthz",
       .access = Access::kPublic,
       .summary = "The process is alive",
       .handler = bind(&M::Healthz)},
      {.method = "GET",
       .path = "/readyz",
       .access = Access::kPublic,
       .summary = "The database answers",
       .handler = bind(&M::Readyz)},
      {.method = "GET",
       .path = "/metrics",
       .access = Access::kAdmin,
       .summary = "Prometheus metrics (text format)",
       .handler = bind(&M::Metrics)},
      // Sessions.
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
      // Users.
      {.method = "GET",
       .path = "/api/v1/users",
       .access = Access::kAdmin,
       .summary = "Users",
       .response = v1::ListUsersResponse::descriptor(),
       .query = {"role", "q", "limit", "page_token"},
       .handler = bind(&M::ListUsers)},
      {.method = "POST",
       .path = "/api/v1/users",
       .access = Access::kAdmin,
       .summary = "Create a user",
       .request = v1::CreateUserRequest::descriptor(),
       .response = v1::User::descriptor(),
       .success_status = 201,
       .handler = bind(&M::CreateUser)},
      {.method = "GET",
       .path = "/api/v1/users/{id}",
       .access = Access::kAdmin,
       .summary = "One user",
       .response = v1::User::descriptor(),
       .handler = bind(&M::GetUser)},
      {.method = "PATCH",
       .path = "/api/v1/users/{id}",
       .access = Access::kAdmin,
       .summary = "Change a user's role, password or disabled flag",
       .request = v1::UpdateUserRequest::descriptor(),
       .response = v1::User::descriptor(),
       .handler = bind(&M::UpdateUser)},
      // API tokens.
      {.method = "GET",
       .path = "/api/v1/tokens",
       .summary = "API tokens (admins: everyone's)",
       .response = v1::ListApiTokensResponse::descriptor(),
       .query = {"limit", "page_token"},
       .handler = bind(&M::ListTokens)},
      {.method = "POST",
       .path = "/api/v1/tokens",
       .summary = "Create an API token; its secret is shown once",
       .request = v1::CreateApiTokenRequest::descriptor(),
       .response = v1::CreateApiTokenResponse::descriptor(),
       .success_status = 201,
       .handler = bind(&M::CreateToken)},
      {.method = "DELETE",
       .path = "/api/v1/tokens/{id}",
       .summary = "Revoke an API token",
       .success_status = 204,
       .handler = bind(&M::RevokeToken)},
      // Hosts.
      {.method = "GET",
       .path = "/api/v1/hosts",
       .access = Access::kAdmin,
       .summary = "Hosts",
       .response = v1::ListHostsResponse::descriptor(),
       .query = {"state", "limit", "page_token"},
       .handler = bind(&M::ListHosts)},
      {.method = "POST",
       .path = "/api/v1/hosts",
       .access = Access::kAdmin,
       .summary = "Create a host: its one-time enrollment token and command",
       .request = v1::CreateHostRequest::descriptor(),
       .response = v1::CreateHostResponse::descriptor(),
       .success_status = 201,
       .handler = bind(&M::CreateHost)},
      {.method = "GET",
       .path = "/api/v1/hosts/{id}",
       .access = Access::kAdmin,
       .summary = "One host",
       .response = v1::Host::descriptor(),
       .handler = bind(&M::GetHost)},
      {.method = "DELETE",
       .path = "/api/v1/hosts/{id}",
       .access = Access::kAdmin,
       .summary = "Forget a host without servers",
       .success_status = 204,
       .handler = bind(&M::DeleteHost)},
      {.method = "POST",
       .path = "/api/v1/hosts/{id}/drain",
       .access = Access::kAdmin,
       .summary = "Place no new servers on the host",
       .response = v1::Host::descriptor(),
       .handler = [api](const ApiRequest& r) { return api->DrainHost(r, true); }},
      {.method = "POST",
       .path = "/api/v1/hosts/{id}/undrain",
       .access = Access::kAdmin,
       .summary = "Place servers on the host again",
       .response = v1::Host::descriptor(),
       .handler = [api](const ApiRequest& r) { return api->DrainHost(r, false); }},
      {.method = "POST",
       .path = "/api/v1/hosts/{id}/install",
       .access = Access::kAdmin,
       .summary = "Install or update the game on the host (a job)",
       .request = v1::InstallHostRequest::descriptor(),
       .response = v1::JobRef::descriptor(),
       .success_status = 202,
       .handler = bind(&M::InstallHost)},
      // Overlays.
      {.method = "GET",
       .path = "/api/v1/overlays",
       .summary = "Overlays: global ones and one's own",
       .response = v1::ListOverlaysResponse::descriptor(),
       .query = {"global", "limit", "page_token"},
       .handler = bind(&M::ListOverlays)},
      {.method = "POST",
       .path = "/api/v1/overlays",
       .summary = "Create an overlay",
       .request = v1::CreateOverlayRequest::descriptor(),
       .response = v1::Overlay::descriptor(),
       .success_status = 201,
       .handler = bind(&M::CreateOverlay)},
      {.method = "GET",
       .path = "/api/v1/overlays/{id}",
       .summary = "One overlay",
       .response = v1::Overlay::descriptor(),
       .handler = bind(&M::GetOverlay)},
      {.method = "PUT",
       .path = "/api/v1/overlays/{id}",
       .summary = "Change an overlay's source (a new revision)",
       .request = v1::UpdateOverlayRequest::descriptor(),
       .response = v1::Overlay::descriptor(),
       .handler = bind(&M::UpdateOverlay)},
      {.method = "DELETE",
       .path = "/api/v1/overlays/{id}",
       .summary = "Delete an overlay no blueprint uses",
       .success_status = 204,
       .handler = bind(&M::DeleteOverlay)},
      {.method = "POST",
       .path = "/api/v1/overlays/{id}/sync",
       .summary = "Sync the overlay to every ready host now (jobs)",
       .response = v1::JobRefs::descriptor(),
       .success_status = 202,
       .handler = bind(&M::SyncOverlay)},
      // Blueprints.
      {.method = "GET",
       .path = "/api/v1/blueprints",
       .summary = "Blueprints",
       .response = v1::ListBlueprintsResponse::descriptor(),
       .query = {"q", "limit", "page_token"},
       .handler = bind(&M::ListBlueprints)},
      {.method = "POST",
       .path = "/api/v1/blueprints",
       .summary = "Create a blueprint",
       .request = v1::BlueprintInput::descriptor(),
       .response = v1::Blueprint::descriptor(),
       .success_status = 201,
       .handler = bind(&M::CreateBlueprint)},
      {.method = "GET",
       .path = "/api/v1/blueprints/{id}",
       .summary = "One blueprint",
       .response = v1::Blueprint::descriptor(),
       .handler = bind(&M::GetBlueprint)},
      {.method = "PUT",
       .path = "/api/v1/blueprints/{id}",
       .summary = "Change a blueprint (servers pick it up at their next action)",
       .request = v1::BlueprintInput::descriptor(),
       .response = v1::Blueprint::descriptor(),
       .handler = bind(&M::UpdateBlueprint)},
      {.method = "DELETE",
       .path = "/api/v1/blueprints/{id}",
       .summary = "Delete a blueprint no server uses",
       .success_status = 204,
       .handler = bind(&M::DeleteBlueprint)},
      // Servers.
      {.method = "GET",
       .path = "/api/v1/servers",
       .summary = "Servers",
       .response = v1::ListServersResponse::descriptor(),
       .query = {"host_id", "blueprint_id", "desired_state", "actual_state", "q", "limit",
                 "page_token"},
       .handler = bind(&M::ListServers)},
      {.method = "POST",
       .path = "/api/v1/servers",
       .summary = "Create a server from a blueprint (placed and initialized by a job)",
       .request = v1::CreateServerRequest::descriptor(),
       .response = v1::CreateServerResponse::descriptor(),
       .success_status = 202,
       .handler = bind(&M::CreateServer)},
      {.method = "POST",
       .path = "/api/v1/servers/bulk",
       .summary = "One action over many servers, staggered",
       .request = v1::BulkActionRequest::descriptor(),
       .response = v1::JobRefs::descriptor(),
       .success_status = 202,
       .handler = bind(&M::Bulk)},
      {.method = "GET",
       .path = "/api/v1/servers/{id}",
       .summary = "One server",
       .response = v1::Server::descriptor(),
       .handler = bind(&M::GetServer)},
      {.method = "DELETE",
       .path = "/api/v1/servers/{id}",
       .summary = "Delete a server and its instance (a job)",
       .response = v1::JobRef::descriptor(),
       .success_status = 202,
       .handler = [api](const ApiRequest& r) { return api->ServerAction(r, "delete"); }},
  };
  for (const char* action : {"start", "stop", "restart", "reset"}) {
    routes.push_back({.method = "POST",
                      .path = absl::StrCat("/api/v1/servers/{id}/", action),
                      .summary = absl::StrCat(absl::AsciiStrToUpper(std::string(1, action[0])),
                                              action + 1, " the server (a job)"),
                      .response = v1::JobRef::descriptor(),
                      .success_status = 202,
                      .handler = [api, action = std::string(action)](const ApiRequest& r) {
                        return api->ServerAction(r, action);
                      }});
  }
  std::vector<Route> more = {
      {.method = "POST",
       .path = "/api/v1/servers/{id}/blueprint",
       .summary = "Switch the server to another blueprint (a job)",
       .request = v1::ChangeBlueprintRequest::descriptor(),
       .response = v1::JobRef::descriptor(),
       .success_status = 202,
       .handler = bind(&M::ChangeServerBlueprint)},
      {.method = "POST",
       .path = "/api/v1/servers/{id}/console",
       .summary = "Run a console command (RCON); audited and echoed to the console stream",
       .request = v1::ConsoleCommandRequest::descriptor(),
       .response = v1::ConsoleCommandResponse::descriptor(),
       .handler = bind(&M::Console)},
      {.method = "GET",
       .path = "/api/v1/servers/{id}/logs",
       .summary = "The newest log lines",
       .response = v1::ServerLogsResponse::descriptor(),
       .query = {"lines", "after_cursor"},
       .handler = bind(&M::Logs)},
      {.method = "GET",
       .path = "/api/v1/servers/{id}/metrics",
       .summary = "Players, CPU and memory samples for charts",
       .response = v1::MetricSeries::descriptor(),
       .query = {"from", "to"},
       .handler = bind(&M::ServerMetrics)},
      {.method = "GET",
       .path = "/api/v1/servers/{id}/console/stream",
       .summary = "The server's console as Server-Sent Events: recent lines, then live",
       .stream = stream(&M::ConsoleStream)},
      // Jobs.
      {.method = "GET",
       .path = "/api/v1/jobs",
       .summary = "Jobs, newest first",
       .response = v1::ListJobsResponse::descriptor(),
       .query = {"kind", "state", "server_id", "limit", "page_token"},
       .handler = bind(&M::ListJobs)},
      {.method = "GET",
       .path = "/api/v1/jobs/{id}",
       .summary = "One job",
       .response = v1::Job::descriptor(),
       .handler = bind(&M::GetJob)},
      {.method = "POST",
       .path = "/api/v1/jobs/{id}/cancel",
       .summary = "Cancel a job",
       .response = v1::Job::descriptor(),
       .success_status = 202,
       .handler = bind(&M::CancelJob)},
      {.method = "GET",
       .path = "/api/v1/jobs/{id}/events",
       .summary = "A job's event log",
       .response = v1::ListJobEventsResponse::descriptor(),
       .query = {"limit", "page_token"},
       .handler = bind(&M::JobEvents)},
      {.method = "GET",
       .path = "/api/v1/jobs/{id}/events/stream",
       .summary = "A job's events as Server-Sent Events, ending with its final state",
       .stream = stream(&M::JobStream)},
      // The audit log and the fleet's events.
      {.method = "GET",
       .path = "/api/v1/audit",
       .summary = "The audit log, newest first",
       .response = v1::ListAuditResponse::descriptor(),
       .query = {"limit", "page_token"},
       .handler = bind(&M::Audit)},
      {.method = "GET",
       .path = "/api/v1/events",
       .summary = "The fleet's changes (audit entries) as Server-Sent Events",
       .stream = stream(&M::FleetStream)},
  };
  routes.insert(routes.end(), std::make_move_iterator(more.begin()),
                std::make_move_iterator(more.end()));
  if (deps.enrollment != nullptr) {
    routes.push_back({.method = "POST",
                      .path = "/api/v1/enroll",
                      .access = Access::kPublic,
                      .summary = "An agent's enrollment with its one-time token",
                      .request = v1::EnrollRequest::descriptor(),
                      .response = v1::EnrollResponse::descriptor(),
                      .handler = bind(&M::Enroll)});
  }
  return routes;
}

}  // namespace l4d2::controller
