// The controller's HTTP API over real HTTP on loopback, with the stores on SQLite: sessions and
// their cookie, CSRF, rate limits, API tokens, the authorization matrix and the CSRF check
// generated from the route table, errors and pagination, the OpenAPI document against the
// router, /metrics, and the event streams (live, resume, per-viewer filtering, caps).

#include <filesystem>
#include <fstream>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "controller/api/api_metrics.h"
#include "controller/api/authenticator.h"
#include "controller/api/controller_api.h"
#include "controller/api/event_sources.h"
#include "controller/api/rest_api.h"
#include "controller/api/sse_hub.h"
#include "controller/auth/login_limiter.h"
#include "controller/jobs/agent_connector.h"
#include "controller/store/fleet_counts.h"
#include "controller/store/migrations.h"
#include "controller/store/retention.h"
#include "controller/store/row_batch.h"
#include "gmock/gmock.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "l4d2/controller/v1/alerts.pb.h"
#include "l4d2/controller/v1/api.pb.h"
#include "l4d2/controller/v1/backups.pb.h"
#include "l4d2/controller/v1/schedules.pb.h"
#include "l4d2/controller/v1/updates.pb.h"
#include "rpc/proto_json.h"
#include "rpc/proto_time.h"
#include "tests/controller/store/backend_test.h"
#include "tests/fakes/fake_clock.h"
#include "tests/testing/eventually.h"
#include "tests/testing/net.h"
#include "tests/testing/temp_dir.h"

namespace l4d2::controller {
namespace {

using ::l4d2::testing::HeaderValue;
using ::l4d2::testing::HttpResponse;
using ::l4d2::testing::HttpStream;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kPassword[] = "a long enough password";

// Who calls: a session (cookie and CSRF token), an API token, or nobody.
struct Caller {
  std::string cookie;
  std::string csrf;
  std::string bearer;
};

class ApiTest : public ::testing::Test {
 protected:
  void SetUp() override { Build("http://127.0.0.1:8080"); }

  void Build(const std::string& public_url, SseLimits sse = {},
             std::function<void(const std::string&)> on_statement = nullptr) {
    api_.reset();
    auto db = Database::Open(
        {.url = database_url_.empty() ? "sqlite3:" + dir_.Sub("c.db") : database_url_,
         .on_statement = on_statement});
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = *std::move(db);
    ASSERT_TRUE(ApplyMigrations(*db_, ControllerMigrations(), clock_).ok());
    stores_ = std::make_unique<FleetStores>(*db_, clock_);
    auto api = ControllerApi::Start(
        *db_, *stores_, agents_, clock_,
        {.http = {.address = "127.0.0.1:0",
                  .threads = 1,
                  .workers = 4,
                  .max_request_bytes = 64 << 10,
                  .web_root = dir_.Sub("web")},
         .rest = {.public_url = public_url},
         .streams = sse,
         .sources = {.poll = absl::Milliseconds(20)},
         .password_cost = PasswordCost::Minimal(),
         .more_metrics = [] { return std::string("# TYPE l4d2_more counter\nl4d2_more 7\n"); }});
    ASSERT_TRUE(api.ok()) << api.status();
    api_ = *std::move(api);
    users_ = &api_->users();
    hub_ = &api_->hub();
    server_ = &api_->server();
  }

  void TearDown() override { api_.reset(); }

  // The id of user `name`, created on first use (admin is an admin, the rest operators).
  std::string UserId(const std::string& name) {
    absl::StatusOr<std::vector<User>> users = users_->List();
    EXPECT_TRUE(users.ok());
    for (const User& user : *users) {
      if (user.username == name) return user.id;
    }
    auto user = users_->Create(name, kPassword, name == "admin" ? Role::kAdmin : Role::kOperator);
    EXPECT_TRUE(user.ok()) << user.status();
    return user.ok() ? user->id : "";
  }

  HttpResponse Call(const Caller& caller, const std::string& method, const std::string& path,
                    const std::string& body = "", std::vector<std::string> headers = {}) {
    if (!caller.cookie.empty()) headers.push_back("Cookie: l4d2_session=" + caller.cookie);
    if (!caller.csrf.empty()) headers.push_back("X-CSRF-Token: " + caller.csrf);
    if (!caller.bearer.empty()) headers.push_back("Authorization: Bearer " + caller.bearer);
    if (!body.empty()) headers.push_back("Content-Type: application/json");
    auto response = l4d2::testing::HttpRequest(server_->port(), method, path, headers, body);
    EXPECT_TRUE(response.ok()) << method << " " << path << ": " << response.status();
    return response.ok() ? *response : HttpResponse{};
  }

  HttpResponse Login(const std::string& username, const std::string& password) {
    return Call({}, "POST", "/api/v1/session",
                absl::StrCat(R"({"username":")", username, R"(","password":")", password, R"("})"));
  }

  static std::string CookieOf(const HttpResponse& response) {
    const std::string header = l4d2::testing::SetCookieOf(response, "l4d2_session");
    const size_t start = header.find('=') + 1;
    return header.substr(start, header.find(';') - start);
  }

  Caller SignIn(const std::string& username) {
    UserId(username);
    HttpResponse response = Login(username, kPassword);
    EXPECT_EQ(response.status, 200) << response.body;
    auto info = FromJson<v1::SessionInfo>(response.body);
    EXPECT_TRUE(info.ok());
    return {.cookie = CookieOf(response), .csrf = info.ok() ? info->csrf_token() : ""};
  }

  template <typename Message>
  Message Parse(const HttpResponse& response) {
    auto message = FromJson<Message>(response.body);
    EXPECT_TRUE(message.ok()) << response.body;
    return message.ok() ? *message : Message();
  }

  // Alice's overlay, blueprint, server (with its create job) and API token.
  struct Objects {
    std::string overlay, blueprint, server, job, token, schedule, webhook, backup;
  };
  // A backup of `server` in the catalog, as a server.backup job records it (the API test has no
  // agent to take one): its id.
  std::string RecordBackup(const std::string& server_id) {
    Server server = *stores_->servers.Get(Actor::System(), server_id);
    v1::Backup backup;
    backup.set_server_id(server.id);
    backup.set_server_name(server.name);
    backup.set_owner_id(server.owner_id);
    backup.set_host_id("hsomewhere");
    backup.set_host_name("somewhere");
    backup.set_archive_id("20261204T120000Z-0000000" + std::to_string(++backups_));
    *backup.mutable_created_at() = TimestampOf(clock_.Now());
    backup.set_size_bytes(1234);
    backup.set_sha256(std::string(64, 'a'));
    EXPECT_TRUE(db_->Transact([&](soci::session& sql) {
                     stores_->backups.Add(sql, backup);
                     return absl::OkStatus();
                   })
                    .ok());
    return backup.id();
  }
  int backups_ = 0;

  Objects MakeObjectsOf(const Caller& caller) {
    Objects made;
    HttpResponse overlay = Call(
        caller, "POST", "/api/v1/overlays",
        R"({"ref":"maps-)" + caller.csrf.substr(0, 6) +
            R"(","source":{"inlineFiles":{"files":[{"path":"left4dead2/cfg/x.cfg","content":"eA=="}]}}})");
    EXPECT_EQ(overlay.status, 201) << overlay.body;
    made.overlay = Parse<v1::Overlay>(overlay).id();
    HttpResponse blueprint =
        Call(caller, "POST", "/api/v1/blueprints",
             absl::StrCat(R"({"name":"versus","settings":{"gameMode":"versus","maxPlayers":8},)",
                          R"("overlays":[{"overlayId":")", made.overlay, R"("}]})"));
    EXPECT_EQ(blueprint.status, 201) << blueprint.body;
    made.blueprint = Parse<v1::Blueprint>(blueprint).id();
    HttpResponse server =
        Call(caller, "POST", "/api/v1/servers",
             absl::StrCat(R"({"name":"s-)", caller.csrf.substr(0, 6), R"(","blueprintId":")",
                          made.blueprint, R"(","desiredState":"stopped"})"));
    EXPECT_EQ(server.status, 202) << server.body;
    made.server = Parse<v1::CreateServerResponse>(server).server().id();
    made.job = Parse<v1::CreateServerResponse>(server).job_id();
    HttpResponse schedule =
        Call(caller, "POST", "/api/v1/schedules",
             absl::StrCat(R"({"name":"nightly","enabled":true,"definition":{"cron":"0 4 * * *",)",
                          R"("target":{"kind":"server","id":")", made.server,
                          R"("},"steps":[{"command":"say hi"},{"action":"restart"}]}})"));
    EXPECT_EQ(schedule.status, 201) << schedule.body;
    made.schedule = Parse<v1::Schedule>(schedule).id();
    HttpResponse webhook = Call(caller, "POST", "/api/v1/webhooks",
                                R"({"name":"ops","url":"https://hooks.example.org/l4d2",)"
                                R"("events":["server.crash_loop"],"enabled":true})");
    EXPECT_EQ(webhook.status, 201) << webhook.body;
    made.webhook = Parse<v1::CreateWebhookResponse>(webhook).webhook().id();
    HttpResponse token = Call(caller, "POST", "/api/v1/tokens", R"({"name":"ci"})");
    EXPECT_EQ(token.status, 201) << token.body;
    made.token = Parse<v1::CreateApiTokenResponse>(token).token().id();
    made.backup = RecordBackup(made.server);
    return made;
  }

  l4d2::testing::TempDir dir_;
  std::string database_url_;  // "": SQLite in dir_
  l4d2::testing::FakeClock clock_;
  PlaintextAgentConnector agents_;
  std::unique_ptr<Database> db_;
  std::unique_ptr<FleetStores> stores_;
  std::unique_ptr<ControllerApi> api_;
  UserStore* users_ = nullptr;
  SseHub* hub_ = nullptr;
  HttpServer* server_ = nullptr;
};

TEST_F(ApiTest, HealthReadinessAndUnknownRoutes) {
  HttpResponse health = Call({}, "GET", "/healthz");
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(health.body, R"({"status":"ok"})");
  EXPECT_EQ(Call({}, "GET", "/readyz").status, 200);
  HttpResponse missing = Call({}, "GET", "/api/v1/nothing");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(Parse<v1::Error>(missing).code(), "NOT_FOUND");
}

TEST_F(ApiTest, TheWebUiIsServedFromItsRootAndNothingElse) {
  std::filesystem::create_directories(dir_.Sub("web/assets"));
  std::ofstream(dir_.Sub("web/index.html")) << "<!doctype html><title>left4me</title>";
  std::ofstream(dir_.Sub("web/assets/app.js")) << "console.log(1);";
  std::ofstream(dir_.Sub("web/.secret")) << "hidden";
  std::ofstream(dir_.Sub("outside.txt")) << "outside";
  std::filesystem::create_symlink(dir_.Sub("outside.txt"), dir_.Sub("web/link.txt"));
  std::filesystem::create_directory_symlink(dir_.path(), dir_.Sub("web/up"));
  HttpResponse index = Call({}, "GET", "/");
  EXPECT_EQ(index.status, 200);
  EXPECT_EQ(index.body, "<!doctype html><title>left4me</title>");
  EXPECT_EQ(HeaderValue(index, "Content-Type"), "text/html; charset=utf-8");
  EXPECT_THAT(HeaderValue(index, "Content-Security-Policy"), HasSubstr("script-src 'self'"));
  EXPECT_EQ(HeaderValue(index, "Cache-Control"), "no-store");
  HttpResponse script = Call({}, "GET", "/assets/app.js");
  EXPECT_EQ(script.status, 200);
  EXPECT_THAT(HeaderValue(script, "Content-Type"), HasSubstr("text/javascript"));
  // Built files are named by their content's hash: cached for good.
  EXPECT_EQ(HeaderValue(script, "Cache-Control"), "public, max-age=31536000, immutable");
  // The UI's own addresses (a reload, a shared link) are its index; its router shows the page.
  for (const char* page : {"/servers", "/servers/s123/console", "/hosts/h1"}) {
    HttpResponse shown = Call({}, "GET", page);
    EXPECT_EQ(shown.status, 200) << page;
    EXPECT_EQ(shown.body, "<!doctype html><title>left4me</title>") << page;
  }
  for (const char* path :
       {"/.secret", "/link.txt", "/up/outside.txt", "/../outside.txt", "/assets/../../outside.txt",
        "/assets/", "/assets/missing", "/nothing.html", "/assets%2f..%2f..%2foutside.txt"}) {
    HttpResponse refused = Call({}, "GET", path);
    EXPECT_EQ(refused.status, 404) << path;
    EXPECT_THAT(refused.body, Not(HasSubstr("outside"))) << path;
  }
  // The API's own unknown paths stay JSON errors.
  EXPECT_EQ(Parse<v1::Error>(Call({}, "GET", "/api/v1/nothing")).code(), "NOT_FOUND");
}

TEST_F(ApiTest, EveryAnswerCarriesTheSecurityHeaders) {
  for (const HttpResponse& response :
       {Call({}, "GET", "/healthz"), Call({}, "GET", "/api/v1/servers"),
        Call({}, "GET", "/api/v1/nothing"), Login("nobody", "wrong password!")}) {
    EXPECT_EQ(HeaderValue(response, "X-Content-Type-Options"), "nosniff");
    EXPECT_EQ(HeaderValue(response, "X-Frame-Options"), "DENY");
    EXPECT_EQ(HeaderValue(response, "Cache-Control"), "no-store");
    EXPECT_THAT(HeaderValue(response, "Content-Security-Policy"), HasSubstr("default-src 'self'"));
    EXPECT_EQ(HeaderValue(response, "Referrer-Policy"), "no-referrer");
  }
}

TEST_F(ApiTest, LoginSetsAStrictHttpOnlyCookieAndANewSessionEachTime) {
  UserId("alice");
  HttpResponse first = Login("alice", kPassword);
  ASSERT_EQ(first.status, 200) << first.body;
  const std::string cookie = l4d2::testing::SetCookieOf(first, "l4d2_session");
  EXPECT_THAT(cookie, HasSubstr("HttpOnly"));
  EXPECT_THAT(cookie, HasSubstr("SameSite=Strict"));
  EXPECT_THAT(cookie, HasSubstr("Path=/"));
  EXPECT_THAT(cookie, Not(HasSubstr("Secure")));  // served over plain HTTP here
  auto info = Parse<v1::SessionInfo>(first);
  EXPECT_EQ(info.user().username(), "alice");
  EXPECT_EQ(info.csrf_token().size(), 64u);
  // Signing in again with the old cookie: a new session, and the old one is over.
  HttpResponse second =
      Call({.cookie = CookieOf(first)}, "POST", "/api/v1/session",
           R"({"username":"alice","password":")" + std::string(kPassword) + R"("})");
  ASSERT_EQ(second.status, 200);
  EXPECT_NE(CookieOf(second), CookieOf(first));
  EXPECT_EQ(Call({.cookie = CookieOf(first)}, "GET", "/api/v1/session").status, 401);
  EXPECT_EQ(Call({.cookie = CookieOf(second)}, "GET", "/api/v1/session").status, 200);
  // The session id is kept hashed: the database does not hold the cookie's value.
  std::string stored;
  ASSERT_TRUE(db_->WithSession([&](soci::session& sql) {
                   sql << "SELECT id_hash FROM sessions", soci::into(stored);
                   return absl::OkStatus();
                 })
                  .ok());
  EXPECT_NE(stored, CookieOf(second));
}

TEST_F(ApiTest, CookiesAreSecureBehindHttps) {
  Build("https://left4me.example");
  UserId("alice");
  EXPECT_THAT(l4d2::testing::SetCookieOf(Login("alice", kPassword), "l4d2_session"),
              HasSubstr("; Secure"));
}

TEST_F(ApiTest, WrongPasswordsAreOneAnswerAndRateLimitedPerAccountAndAddress) {
  UserId("alice");
  HttpResponse unknown = Login("nobody", "wrong password!");
  HttpResponse wrong = Login("alice", "wrong password!");
  EXPECT_EQ(unknown.status, 401);
  EXPECT_EQ(wrong.status, 401);
  EXPECT_EQ(Parse<v1::Error>(unknown).message(), Parse<v1::Error>(wrong).message());
  for (int i = 0; i < 4; ++i) EXPECT_EQ(Login("alice", "wrong password!").status, 401);
  // Five failures: now even the right password is refused, until the window passes.
  HttpResponse limited = Login("alice", kPassword);
  EXPECT_EQ(limited.status, 429);
  EXPECT_THAT(Parse<v1::Error>(limited).message(), HasSubstr("try again in"));
  clock_.Advance(absl::Minutes(16));
  EXPECT_EQ(Login("alice", kPassword).status, 200);
  // Per address: 20 failures over many accounts block the address for everyone.
  for (int i = 0; i < 20; ++i) Login(absl::StrCat("guess", i), "wrong password!");
  UserId("bob");
  EXPECT_EQ(Login("bob", kPassword).status, 429);
}

// OWASP's device cookies: a client that signed in as the account before is not locked out by
// others' failures, and is limited on its own; the cookie is the account's alone.
TEST_F(ApiTest, ADeviceCookieKeepsTheRealUserInWhileOthersLockTheAccount) {
  UserId("alice");
  UserId("bob");
  HttpResponse first = Login("alice", kPassword);
  ASSERT_EQ(first.status, 200);
  const std::string set_cookie = l4d2::testing::SetCookieOf(first, "l4d2_device");
  EXPECT_THAT(set_cookie, HasSubstr("; HttpOnly"));
  EXPECT_THAT(set_cookie, HasSubstr("SameSite=Strict"));
  EXPECT_THAT(set_cookie, HasSubstr("Path=/api/v1/session"));
  const std::string device = set_cookie.substr(0, set_cookie.find(';'));
  auto login_with = [&](const std::string& cookie, const std::string& user,
                        const std::string& password) {
    return Call({}, "POST", "/api/v1/session",
                absl::StrCat(R"({"username":")", user, R"(","password":")", password, R"("})"),
                {"Cookie: " + cookie});
  };
  // Someone else guesses: the account is locked for clients without the cookie...
  for (int i = 0; i < 5; ++i) EXPECT_EQ(Login("alice", "wrong password!").status, 401);
  EXPECT_EQ(Login("alice", kPassword).status, 429);
  // ...not for alice's device, which gets a fresh cookie each time.
  HttpResponse trusted = login_with(device, "alice", kPassword);
  EXPECT_EQ(trusted.status, 200) << trusted.body;
  EXPECT_NE(l4d2::testing::SetCookieOf(trusted, "l4d2_device"), set_cookie);
  // Alice's cookie is no device cookie for bob, nor is a forged one for anyone.
  for (int i = 0; i < 5; ++i) EXPECT_EQ(login_with(device, "bob", "wrong password!").status, 401);
  EXPECT_EQ(login_with(device, "bob", kPassword).status, 429);
  std::string forged = device;
  forged.back() = forged.back() == '0' ? '1' : '0';
  EXPECT_EQ(login_with(forged, "alice", kPassword).status, 429);
  // The device itself is limited: ten failures lock it, a limited device cannot tell right
  // from wrong.
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(login_with(device, "alice", "wrong password!").status, 401);
  }
  EXPECT_EQ(login_with(device, "alice", kPassword).status, 429);
  EXPECT_EQ(login_with(device, "alice", "wrong password!").status, 429);
}

TEST_F(ApiTest, SessionsEndWhenIdleAtTheirLifetimeAtLogoutAndAtAPasswordChange) {
  Caller alice = SignIn("alice");
  clock_.Advance(absl::Minutes(20));
  EXPECT_EQ(Call(alice, "GET", "/api/v1/session").status, 200);  // idle time resets
  clock_.Advance(absl::Minutes(20));
  EXPECT_EQ(Call(alice, "GET", "/api/v1/session").status, 200);
  clock_.Advance(absl::Minutes(31));
  EXPECT_EQ(Call(alice, "GET", "/api/v1/session").status, 401);  // idle too long

  // The absolute lifetime holds however busy the session is.
  alice = SignIn("alice");
  for (int i = 0; i < 25; ++i) {
    clock_.Advance(absl::Minutes(29));
    if (Call(alice, "GET", "/api/v1/session").status != 200) break;
  }
  EXPECT_EQ(Call(alice, "GET", "/api/v1/session").status, 401);

  alice = SignIn("alice");
  HttpResponse out = Call(alice, "DELETE", "/api/v1/session");
  EXPECT_EQ(out.status, 204);
  EXPECT_THAT(l4d2::testing::SetCookieOf(out, "l4d2_session"), HasSubstr("Max-Age=0"));
  EXPECT_EQ(Call(alice, "GET", "/api/v1/session").status, 401);

  alice = SignIn("alice");
  Caller elsewhere = SignIn("alice");
  HttpResponse bad =
      Call(alice, "POST", "/api/v1/session/password",
           R"({"currentPassword":"not it at all","newPassword":"another long one"})");
  EXPECT_EQ(bad.status, 403);
  HttpResponse changed = Call(
      alice, "POST", "/api/v1/session/password",
      absl::StrCat(R"({"currentPassword":")", kPassword, R"(","newPassword":"another long one"})"));
  ASSERT_EQ(changed.status, 200) << changed.body;
  EXPECT_EQ(Call(elsewhere, "GET", "/api/v1/session").status, 401);
  EXPECT_EQ(Call(alice, "GET", "/api/v1/session").status, 401);
  const Caller renewed{.cookie = CookieOf(changed),
                       .csrf = Parse<v1::SessionInfo>(changed).csrf_token()};
  EXPECT_EQ(Call(renewed, "GET", "/api/v1/session").status, 200);
  EXPECT_EQ(Login("alice", kPassword).status, 401);
  EXPECT_EQ(Login("alice", "another long one").status, 200);
}

TEST_F(ApiTest, EveryRouteNeedsCredentialsUnlessPublic) {
  for (const Route& route : server_->routes()) {
    if (route.access == Access::kPublic) continue;
    const std::string path = absl::StrReplaceAll(route.path, {{"{id}", "x"}});
    HttpResponse response = Call({}, route.method, path);
    EXPECT_EQ(response.status, 401) << route.method << " " << route.path << ": " << response.body;
  }
}

TEST_F(ApiTest, EveryStateChangingRouteNeedsTheSessionsCsrfToken) {
  Caller admin = SignIn("admin");
  Caller alice = SignIn("alice");
  const Objects objects = MakeObjectsOf(alice);
  int checked = 0;
  for (const Route& route : server_->routes()) {
    if (!route.ChangesState() || route.access == Access::kPublic) continue;
    const std::string path = absl::StrReplaceAll(route.path, {{"{id}", objects.server}});
    for (const std::string& csrf : {std::string(), std::string(64, 'a')}) {
      HttpResponse response =
          Call({.cookie = admin.cookie, .csrf = csrf}, route.method, path, "{}");
      EXPECT_EQ(response.status, 403) << route.method << " " << route.path << ": " << response.body;
      EXPECT_THAT(response.body, HasSubstr("CSRF"));
    }
    ++checked;
  }
  EXPECT_GT(checked, 25);
}

TEST_F(ApiTest, NoGetChangesState) {
  Caller admin = SignIn("admin");
  Caller alice = SignIn("alice");
  const Objects objects = MakeObjectsOf(alice);
  auto snapshot = [&] {
    std::string rows;
    EXPECT_TRUE(db_->WithSession([&](soci::session& sql) {
                     for (const char* table :
                          {"users", "hosts", "overlays", "blueprints", "servers", "jobs",
                           "audit_log", "api_tokens", "schedules", "settings", "backups"}) {
                       long long count = 0;
                       sql << "SELECT COUNT(*) FROM " << table, soci::into(count);
                       absl::StrAppend(&rows, table, "=", count, " ");
                     }
                     return absl::OkStatus();
                   })
                    .ok());
    return rows;
  };
  const std::string before = snapshot();
  for (const Route& route : server_->routes()) {
    if (route.ChangesState() || route.stream) continue;
    for (const std::string& id : {objects.server, objects.job, objects.overlay, objects.schedule}) {
      Call(admin, "GET", absl::StrReplaceAll(route.path, {{"{id}", id}}));
    }
  }
  EXPECT_EQ(snapshot(), before);
}

// Every route with an object id, called by another operator with Alice's object of that kind:
// NOT_FOUND, never FORBIDDEN (that would tell the object exists), and nothing changes; admin
// routes refuse operators with PERMISSION_DENIED.
TEST_F(ApiTest, AnotherUsersObjectIsNotFoundOnEveryRoute) {
  Caller alice = SignIn("alice");
  Caller bob = SignIn("bob");
  const Objects objects = MakeObjectsOf(alice);
  const std::map<std::string, std::string> by_collection = {
      {"overlays", objects.overlay}, {"blueprints", objects.blueprint},
      {"servers", objects.server},   {"jobs", objects.job},
      {"tokens", objects.token},     {"users", UserId("alice")},
      {"hosts", "hnothing"},         {"schedules", objects.schedule},
      {"webhooks", objects.webhook}, {"backups", objects.backup}};
  int checked = 0;
  for (const Route& route : server_->routes()) {
    if (!absl::StrContains(route.path, "{id}")) continue;
    const absl::string_view rest = absl::StripPrefix(route.path, "/api/v1/");
    const std::string collection(rest.substr(0, rest.find('/')));
    ASSERT_TRUE(by_collection.count(collection)) << route.path;
    const std::string path =
        absl::StrReplaceAll(route.path, {{"{id}", by_collection.at(collection)}});
    HttpResponse response = Call(bob, route.method, path, route.ChangesState() ? "{}" : "");
    if (route.access == Access::kAdmin) {
      EXPECT_EQ(response.status, 403) << route.method << " " << route.path;
    } else if (route.request != nullptr && route.method != "DELETE") {
      // A body is checked first: a valid one must still not find Alice's object.
      EXPECT_THAT(response.status, ::testing::AnyOf(400, 404)) << route.method << " " << path;
    } else {
      EXPECT_EQ(response.status, 404) << route.method << " " << route.path << ": " << response.body;
    }
    ++checked;
  }
  EXPECT_GT(checked, 20);
  // Alice still has everything.
  EXPECT_EQ(Call(alice, "GET", "/api/v1/servers/" + objects.server).status, 200);
  EXPECT_EQ(Call(alice, "GET", "/api/v1/overlays/" + objects.overlay).status, 200);
  EXPECT_EQ(Call(alice, "GET", "/api/v1/blueprints/" + objects.blueprint).status, 200);
  EXPECT_EQ(Call(alice, "GET", "/api/v1/jobs/" + objects.job).status, 200);
  EXPECT_TRUE(
      Parse<v1::Schedule>(Call(alice, "GET", "/api/v1/schedules/" + objects.schedule)).enabled());
  EXPECT_EQ(Parse<v1::ListApiTokensResponse>(Call(alice, "GET", "/api/v1/tokens"))
                .tokens(0)
                .has_revoked_at(),
            false);
  // And Bob's lists do not show them.
  EXPECT_EQ(Parse<v1::ListServersResponse>(Call(bob, "GET", "/api/v1/servers")).servers_size(), 0);
  EXPECT_EQ(Parse<v1::ListJobsResponse>(Call(bob, "GET", "/api/v1/jobs")).jobs_size(), 0);
  EXPECT_EQ(
      Parse<v1::ListSchedulesResponse>(Call(bob, "GET", "/api/v1/schedules")).schedules_size(), 0);
  EXPECT_EQ(
      Parse<v1::ListBlueprintsResponse>(Call(bob, "GET", "/api/v1/blueprints")).blueprints_size(),
      0);
  EXPECT_EQ(Parse<v1::ListAuditResponse>(Call(bob, "GET", "/api/v1/audit")).entries_size(), 1)
      << "only Bob's own sign-in";
}

// Schedules over the API: made from JSON or a YAML file, their next occurrences in their time
// zone, run by hand (a schedule.run job), exported; bad ones refused with the field named.
TEST_F(ApiTest, SchedulesAreMadeRunAndReadOverTheApi) {
  Caller alice = SignIn("alice");
  const Objects objects = MakeObjectsOf(alice);
  HttpResponse bad = Call(alice, "POST", "/api/v1/schedules",
                          R"({"name":"x","definition":{"cron":"0 4 * * *","target":{"kind":)"
                          R"("fleet"},"steps":[{"install":true}]}})");
  EXPECT_EQ(bad.status, 403) << bad.body;  // installing is for admins
  bad = Call(alice, "POST", "/api/v1/schedules",
             R"({"name":"x","definition":{"cron":"61 * * * *","target":{"kind":"fleet"},)"
             R"("steps":[{"wait":"1s"}]}})");
  EXPECT_EQ(bad.status, 400);
  EXPECT_THAT(bad.body, HasSubstr("minute"));
  const std::string yaml = absl::StrCat(
      "name: weekly\ncron: \"0 6 * * sun\"\ntime_zone: Asia/Kolkata\nenabled: true\n",
      "target: {blueprint: versus}\nonly_when_empty: true\ncontinue_on_failure: false\n",
      "missed: run_once\nsteps:\n  - command: say bye\n  - wait: 1m\n  - action: restart\n");
  v1::ScheduleYaml file;
  file.set_yaml(yaml);
  HttpResponse applied = Call(alice, "POST", "/api/v1/schedules/yaml", ToJson(file));
  ASSERT_EQ(applied.status, 201) << applied.body;
  const v1::Schedule weekly = Parse<v1::Schedule>(applied);
  EXPECT_EQ(weekly.definition().target().id(), objects.blueprint);
  HttpResponse exported = Call(alice, "GET", "/api/v1/schedules/" + weekly.id() + "/yaml");
  EXPECT_EQ(Parse<v1::ScheduleYaml>(exported).yaml(), yaml);
  // Sundays at 06:00 in Kolkata (UTC+5:30): 00:30 UTC, a week apart.
  auto next = Parse<v1::ScheduleOccurrences>(
      Call(alice, "GET", "/api/v1/schedules/" + weekly.id() + "/next?count=3"));
  ASSERT_EQ(next.at_size(), 3);
  for (int i = 0; i < 3; ++i) {
    const absl::Time at = absl::FromUnixSeconds(next.at(i).seconds());
    const absl::CivilSecond utc = absl::ToCivilSecond(at, absl::UTCTimeZone());
    EXPECT_EQ(absl::GetWeekday(absl::CivilDay(utc)), absl::Weekday::sunday);
    EXPECT_EQ(utc.hour() * 60 + utc.minute(), 30);
    if (i > 0) {
      EXPECT_EQ(at - absl::FromUnixSeconds(next.at(i - 1).seconds()), absl::Hours(24 * 7));
    }
  }
  EXPECT_EQ(Call(alice, "GET", "/api/v1/schedules/" + weekly.id() + "/next?count=51").status, 400);
  HttpResponse run = Call(alice, "POST", "/api/v1/schedules/" + weekly.id() + "/run");
  ASSERT_EQ(run.status, 202) << run.body;
  const std::string job = Parse<v1::ScheduleRunQueued>(run).job_id();
  EXPECT_EQ(Parse<v1::Job>(Call(alice, "GET", "/api/v1/jobs/" + job)).kind(), "schedule.run");
  EXPECT_EQ(
      Parse<v1::Schedule>(Call(alice, "GET", "/api/v1/schedules/" + weekly.id())).last_job_id(),
      job);
  auto listed = Parse<v1::ListSchedulesResponse>(Call(alice, "GET", "/api/v1/schedules?limit=1"));
  ASSERT_EQ(listed.schedules_size(), 1);
  EXPECT_EQ(listed.schedules(0).name(), "nightly");
  EXPECT_FALSE(listed.next_page_token().empty());
  EXPECT_EQ(Call(alice, "DELETE", "/api/v1/schedules/" + weekly.id()).status, 204);
  EXPECT_EQ(Call(alice, "GET", "/api/v1/schedules/" + weekly.id()).status, 404);
}

TEST_F(ApiTest, TheUpdatePolicyChecksAndRollingUpdatesAreAdminsAlone) {
  Caller admin = SignIn("admin");
  Caller alice = SignIn("alice");
  for (const auto& [method, path] :
       std::vector<std::pair<std::string, std::string>>{{"GET", "/api/v1/updates"},
                                                        {"PUT", "/api/v1/updates/policy"},
                                                        {"POST", "/api/v1/updates/check"},
                                                        {"POST", "/api/v1/updates/roll"}}) {
    EXPECT_EQ(Call(alice, method, path, "{}").status, 403) << method << " " << path;
  }
  v1::UpdateStatus status = Parse<v1::UpdateStatus>(Call(admin, "GET", "/api/v1/updates"));
  EXPECT_EQ(status.policy().mode(), "notify");
  EXPECT_EQ(status.policy().max_parallel(), 2);
  EXPECT_TRUE(status.hosts().empty());
  // Refused, the field named; nothing changed.
  HttpResponse bad =
      Call(admin, "PUT", "/api/v1/updates/policy", R"({"mode":"rolling","deadline":"20s"})");
  EXPECT_EQ(bad.status, 400);
  EXPECT_THAT(bad.body, HasSubstr("deadline"));
  EXPECT_EQ(Parse<v1::UpdateStatus>(Call(admin, "GET", "/api/v1/updates")).policy().mode(),
            "notify");
  HttpResponse set = Call(admin, "PUT", "/api/v1/updates/policy",
                          R"({"mode":"rolling","deadline":"7200s","maxParallel":3})");
  ASSERT_EQ(set.status, 200) << set.body;
  status = Parse<v1::UpdateStatus>(Call(admin, "GET", "/api/v1/updates"));
  EXPECT_EQ(status.policy().mode(), "rolling");
  EXPECT_EQ(status.policy().max_parallel(), 3);
  EXPECT_EQ(status.policy().warning_lead().seconds(), 300);  // the default
  EXPECT_EQ(status.policy().updated_by(), "user:" + UserId("admin"));
  // A check now; asked again while it is queued, the same one.
  HttpResponse check = Call(admin, "POST", "/api/v1/updates/check");
  ASSERT_EQ(check.status, 202) << check.body;
  const std::string job = Parse<v1::UpdateJobQueued>(check).job_id();
  EXPECT_EQ(Parse<v1::Job>(Call(admin, "GET", "/api/v1/jobs/" + job)).kind(), "game.check");
  EXPECT_EQ(Parse<v1::UpdateJobQueued>(Call(admin, "POST", "/api/v1/updates/check")).job_id(), job);
  EXPECT_EQ(Parse<v1::UpdateStatus>(Call(admin, "GET", "/api/v1/updates")).check_job_id(), job);
  // A rolling update of a host that does not exist; of none (no host is enrolled).
  EXPECT_EQ(Call(admin, "POST", "/api/v1/updates/roll", R"({"hostIds":["nohost"]})").status, 404);
  HttpResponse none = Call(admin, "POST", "/api/v1/updates/roll");
  EXPECT_EQ(none.status, 409) << none.body;
  EXPECT_THAT(none.body, HasSubstr("no host to update"));
}

// Backups (docs/backups.md): listed by their owners (a server's, or all), refused with a clear
// error before a job is queued for a server never placed or a bad retention, deleted as a job;
// another operator sees none of them.
TEST_F(ApiTest, BackupsAreListedAndRequestedByTheirOwnersAlone) {
  Caller alice = SignIn("alice");
  Caller bob = SignIn("bob");
  const Objects objects = MakeObjectsOf(alice);
  const std::string second = RecordBackup(objects.server);
  v1::BackupList all = Parse<v1::BackupList>(Call(alice, "GET", "/api/v1/backups"));
  ASSERT_EQ(all.backups_size(), 2);
  EXPECT_EQ(all.backups(0).id(), second);  // newest first
  EXPECT_EQ(Parse<v1::BackupList>(
                Call(alice, "GET", "/api/v1/backups?server_id=" + objects.server + "&limit=1"))
                .backups_size(),
            1);
  EXPECT_EQ(Parse<v1::Backup>(Call(alice, "GET", "/api/v1/backups/" + second)).sha256(),
            std::string(64, 'a'));
  EXPECT_EQ(Call(alice, "GET", "/api/v1/backups?limit=0").status, 400);
  EXPECT_EQ(Parse<v1::BackupList>(Call(bob, "GET", "/api/v1/backups")).backups_size(), 0);
  EXPECT_EQ(Call(bob, "GET", "/api/v1/backups?server_id=" + objects.server).status, 404);
  // Refused before anything is queued: the server was never placed (its create job has not
  // run), a retention out of bounds, a restore without a backup.
  const auto jobs = [&] {
    return Parse<v1::ListJobsResponse>(Call(alice, "GET", "/api/v1/jobs")).jobs_size();
  };
  const int before = jobs();
  HttpResponse unplaced = Call(alice, "POST", "/api/v1/servers/" + objects.server + "/backups");
  EXPECT_EQ(unplaced.status, 400) << unplaced.body;
  EXPECT_THAT(unplaced.body, HasSubstr("never placed"));
  EXPECT_EQ(Call(alice, "POST", "/api/v1/servers/" + objects.server + "/backups", R"({"keep":101})")
                .status,
            400);
  HttpResponse restore = Call(alice, "POST", "/api/v1/servers/" + objects.server + "/restore",
                              absl::StrCat(R"({"backupId":")", second, R"("})"));
  EXPECT_EQ(restore.status, 400) << restore.body;
  EXPECT_THAT(restore.body, HasSubstr("never placed"));
  EXPECT_EQ(Call(alice, "POST", "/api/v1/servers/" + objects.server + "/restore", "{}").status,
            400);
  EXPECT_EQ(jobs(), before);
  // Deleted by a job.
  HttpResponse deleted = Call(alice, "DELETE", "/api/v1/backups/" + second);
  ASSERT_EQ(deleted.status, 202) << deleted.body;
  EXPECT_EQ(
      Parse<v1::Job>(Call(alice, "GET", "/api/v1/jobs/" + Parse<v1::JobRef>(deleted).job_id()))
          .kind(),
      "backup.delete");
}

TEST_F(ApiTest, ApiTokensAreShownOnceScopedRevocableAndRecordTheirUse) {
  Caller alice = SignIn("alice");
  HttpResponse made = Call(alice, "POST", "/api/v1/tokens", R"({"name":"ci","scopes":["read"]})");
  ASSERT_EQ(made.status, 201) << made.body;
  auto created = Parse<v1::CreateApiTokenResponse>(made);
  const Caller reader{.bearer = created.secret()};
  EXPECT_THAT(created.secret(), ::testing::StartsWith("l4d2_"));
  HttpResponse listed = Call(alice, "GET", "/api/v1/tokens");
  EXPECT_THAT(listed.body, Not(HasSubstr(created.secret())));
  EXPECT_FALSE(Parse<v1::ListApiTokensResponse>(listed).tokens(0).has_last_used_at());
  EXPECT_EQ(Call(reader, "GET", "/api/v1/servers").status, 200);
  EXPECT_TRUE(Parse<v1::ListApiTokensResponse>(Call(alice, "GET", "/api/v1/tokens"))
                  .tokens(0)
                  .has_last_used_at());
  // A read token cannot change anything; a write token can, without any CSRF token.
  HttpResponse refused = Call(reader, "POST", "/api/v1/tokens", R"({"name":"more"})");
  EXPECT_EQ(refused.status, 403);
  EXPECT_THAT(refused.body, HasSubstr("write"));
  auto writer = Parse<v1::CreateApiTokenResponse>(
      Call(alice, "POST", "/api/v1/tokens", R"({"name":"deploy","scopes":["write"]})"));
  EXPECT_EQ(
      Call({.bearer = writer.secret()}, "POST", "/api/v1/tokens", R"({"name":"more"})").status,
      201);
  EXPECT_EQ(Call(alice, "DELETE", "/api/v1/tokens/" + created.token().id()).status, 204);
  EXPECT_EQ(Call(reader, "GET", "/api/v1/servers").status, 401);
  EXPECT_EQ(Call({.bearer = "l4d2_" + std::string(48, '0')}, "GET", "/api/v1/servers").status, 401);
  EXPECT_EQ(Call({.bearer = "not a token"}, "GET", "/api/v1/servers").status, 401);
  EXPECT_THAT(Call(alice, "POST", "/api/v1/tokens", R"({"name":"x","scopes":["root"]})").status,
              400);
}

TEST_F(ApiTest, AdminsManageUsersAndTheLastAdminStays) {
  Caller admin = SignIn("admin");
  Caller alice = SignIn("alice");
  EXPECT_EQ(Call(alice, "GET", "/api/v1/users").status, 403);
  HttpResponse created =
      Call(admin, "POST", "/api/v1/users",
           R"({"username":"carol","password":"carol's long password","role":"operator"})");
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(Call(admin, "POST", "/api/v1/users",
                 R"({"username":"carol","password":"carol's long password"})")
                .status,
            409);
  EXPECT_EQ(Call(admin, "POST", "/api/v1/users",
                 R"({"username":"Bad Name","password":"long enough password"})")
                .status,
            400);
  // Disabling ends the user's sessions at once.
  HttpResponse disabled =
      Call(admin, "PATCH", "/api/v1/users/" + UserId("alice"), R"({"disabled":true})");
  ASSERT_EQ(disabled.status, 200) << disabled.body;
  EXPECT_TRUE(Parse<v1::User>(disabled).disabled());
  EXPECT_EQ(Call(alice, "GET", "/api/v1/session").status, 401);
  EXPECT_EQ(Login("alice", kPassword).status, 401);
  HttpResponse last =
      Call(admin, "PATCH", "/api/v1/users/" + UserId("admin"), R"({"role":"operator"})");
  EXPECT_EQ(last.status, 409);
  EXPECT_EQ(Parse<v1::Error>(last).code(), "FAILED_PRECONDITION");
  auto page = Parse<v1::ListUsersResponse>(Call(admin, "GET", "/api/v1/users?role=operator"));
  EXPECT_EQ(page.users_size(), 2);  // alice, carol
}

TEST_F(ApiTest, ErrorsAreJsonWithOneMappingAndBadInputChangesNothing) {
  Caller admin = SignIn("admin");
  HttpResponse malformed = Call(admin, "POST", "/api/v1/hosts", "{not json");
  EXPECT_EQ(malformed.status, 400);
  EXPECT_EQ(Parse<v1::Error>(malformed).code(), "INVALID_ARGUMENT");
  EXPECT_EQ(Call(admin, "POST", "/api/v1/hosts", R"({"name":"h","address":"a:1","evil":1})").status,
            400);
  HttpResponse wrong_type = Call(admin, "POST", "/api/v1/hosts", "name=h",
                                 {"Content-Type: application/x-www-form-urlencoded"});
  EXPECT_EQ(wrong_type.status, 415);
  HttpResponse too_big =
      Call(admin, "POST", "/api/v1/hosts", R"({"name":")" + std::string(100 << 10, 'a') + R"("})");
  EXPECT_EQ(too_big.status, 413);
  EXPECT_EQ(Call(admin, "POST", "/api/v1/hosts", R"({"name":"../etc","address":"a:1"})").status,
            400);
  EXPECT_EQ(Parse<v1::ListHostsResponse>(Call(admin, "GET", "/api/v1/hosts")).hosts_size(), 0);
  EXPECT_EQ(Call(admin, "GET", "/api/v1/servers?limit=0").status, 400);
  EXPECT_EQ(Call(admin, "GET", "/api/v1/servers?limit=abc").status, 400);
  EXPECT_EQ(Call(admin, "GET", "/api/v1/servers?page_token=%%%").status, 400);
  EXPECT_EQ(Call(admin, "GET", "/api/v1/jobs?state=sleeping").status, 400);
}

TEST_F(ApiTest, ListsArePagedAndFiltered) {
  Caller admin = SignIn("admin");
  for (int i = 0; i < 7; ++i) {
    ASSERT_EQ(Call(admin, "POST", "/api/v1/hosts",
                   absl::StrCat(R"({"name":"host-)", i, R"(","address":"10.0.0.)", i, R"(:7000"})"))
                  .status,
              201);
  }
  std::vector<std::string> names;
  std::string token;
  int pages = 0;
  do {
    auto page = Parse<v1::ListHostsResponse>(Call(
        admin, "GET", "/api/v1/hosts?limit=3" + (token.empty() ? "" : "&page_token=" + token)));
    for (const v1::Host& host : page.hosts()) names.push_back(host.name());
    token = page.next_page_token();
    ++pages;
  } while (!token.empty() && pages < 10);
  EXPECT_EQ(pages, 3);
  EXPECT_THAT(names, ::testing::ElementsAre("host-0", "host-1", "host-2", "host-3", "host-4",
                                            "host-5", "host-6"));
  EXPECT_EQ(
      Parse<v1::ListHostsResponse>(Call(admin, "GET", "/api/v1/hosts?state=ready")).hosts_size(),
      0);
  // The audit log pages by id, newest first.
  auto first = Parse<v1::ListAuditResponse>(Call(admin, "GET", "/api/v1/audit?limit=4"));
  ASSERT_EQ(first.entries_size(), 4);
  auto second = Parse<v1::ListAuditResponse>(
      Call(admin, "GET", "/api/v1/audit?limit=4&page_token=" + first.next_page_token()));
  ASSERT_EQ(second.entries_size(), 4);
  EXPECT_GT(first.entries(3).id(), second.entries(0).id());
}

TEST_F(ApiTest, HostsAreCreatedWithAnEnrollmentCommandDrainedAndDeleted) {
  Caller admin = SignIn("admin");
  HttpResponse made =
      Call(admin, "POST", "/api/v1/hosts", R"({"name":"h1","address":"10.0.0.1:7000"})");
  ASSERT_EQ(made.status, 201);
  auto created = Parse<v1::CreateHostResponse>(made);
  EXPECT_EQ(created.enrollment_token().size(), 64u);
  EXPECT_THAT(created.enroll_command(), HasSubstr("enroll --controller http://127.0.0.1:8080"));
  EXPECT_THAT(created.enroll_command(), Not(HasSubstr(created.enrollment_token())));
  const std::string id = created.host().id();
  EXPECT_TRUE(Parse<v1::Host>(Call(admin, "POST", "/api/v1/hosts/" + id + "/drain")).drained());
  EXPECT_FALSE(Parse<v1::Host>(Call(admin, "POST", "/api/v1/hosts/" + id + "/undrain")).drained());
  HttpResponse install =
      Call(admin, "POST", "/api/v1/hosts/" + id + "/install", R"({"validate":true})");
  EXPECT_EQ(install.status, 202);
  auto job =
      Parse<v1::Job>(Call(admin, "GET", "/api/v1/jobs/" + Parse<v1::JobRef>(install).job_id()));
  EXPECT_EQ(job.kind(), "host.install");
  EXPECT_TRUE(job.params().fields().at("validate").bool_value());
  EXPECT_EQ(Call(admin, "DELETE", "/api/v1/hosts/" + id).status, 204);
  EXPECT_EQ(Call(admin, "GET", "/api/v1/hosts/" + id).status, 404);
}

TEST_F(ApiTest, ServersAreCreatedActedOnAndCancelledThroughJobs) {
  Caller alice = SignIn("alice");
  const Objects objects = MakeObjectsOf(alice);
  auto server = Parse<v1::Server>(Call(alice, "GET", "/api/v1/servers/" + objects.server));
  EXPECT_EQ(server.desired_state(), "stopped");
  HttpResponse start = Call(alice, "POST", "/api/v1/servers/" + objects.server + "/start");
  ASSERT_EQ(start.status, 202) << start.body;
  EXPECT_EQ(
      Parse<v1::Server>(Call(alice, "GET", "/api/v1/servers/" + objects.server)).desired_state(),
      "running");
  const std::string job = Parse<v1::JobRef>(start).job_id();
  auto jobs = Parse<v1::ListJobsResponse>(
      Call(alice, "GET", "/api/v1/jobs?server_id=" + objects.server + "&state=queued"));
  EXPECT_EQ(jobs.jobs_size(), 2);  // create and start; no scheduler runs here
  HttpResponse cancelled = Call(alice, "POST", "/api/v1/jobs/" + job + "/cancel");
  EXPECT_EQ(cancelled.status, 202);
  EXPECT_EQ(Parse<v1::Job>(cancelled).state(), "cancelled");
  EXPECT_EQ(Call(alice, "POST", "/api/v1/jobs/" + job + "/cancel").status, 409);
  HttpResponse bulk = Call(alice, "POST", "/api/v1/servers/bulk",
                           absl::StrCat(R"({"action":"restart","blueprintId":")", objects.blueprint,
                                        R"(","stagger":"30s"})"));
  ASSERT_EQ(bulk.status, 202) << bulk.body;
  EXPECT_EQ(Parse<v1::JobRefs>(bulk).job_ids_size(), 1);
  EXPECT_EQ(Call(alice, "POST", "/api/v1/servers/bulk", R"({"action":"restart"})").status, 400);
  // Console and logs need the server on a host.
  HttpResponse console = Call(alice, "POST", "/api/v1/servers/" + objects.server + "/console",
                              R"({"command":"status"})");
  EXPECT_EQ(console.status, 409);
  EXPECT_EQ(Call(alice, "POST", "/api/v1/servers/" + objects.server + "/console",
                 R"({"command":"status\nquit"})")
                .status,
            400);
  EXPECT_EQ(Call(alice, "GET", "/api/v1/servers/" + objects.server + "/metrics").status, 200);
  EXPECT_EQ(
      Call(alice, "GET", "/api/v1/servers/" + objects.server + "/metrics?from=yesterday").status,
      400);
  // Blueprints in use cannot go.
  EXPECT_EQ(Call(alice, "DELETE", "/api/v1/blueprints/" + objects.blueprint).status, 409);
}

TEST_F(ApiTest, TheOpenApiDocumentDescribesExactlyTheRoutesServed) {
  HttpResponse response = Call({}, "GET", "/api/v1/openapi.json");
  ASSERT_EQ(response.status, 200);
  auto document = Parse<google::protobuf::Struct>(response);
  const auto& paths = document.fields().at("paths").struct_value().fields();
  std::set<std::string> documented, served;
  for (const auto& [path, operations] : paths) {
    for (const auto& [method, operation] : operations.struct_value().fields()) {
      documented.insert(absl::AsciiStrToUpper(method) + " " + path);
    }
  }
  for (const Route& route : server_->routes()) served.insert(route.method + " " + route.path);
  EXPECT_EQ(documented, served);
  // Every documented operation is routed (an unrouted path answers "no such route").
  for (const std::string& operation : documented) {
    const size_t space = operation.find(' ');
    const std::string path = absl::StrReplaceAll(operation.substr(space + 1), {{"{id}", "x"}});
    HttpResponse answer = Call({}, operation.substr(0, space), path);
    EXPECT_THAT(answer.body, Not(HasSubstr("no such route"))) << operation;
  }
  // Every schema reference resolves.
  const auto& schemas = document.fields()
                            .at("components")
                            .struct_value()
                            .fields()
                            .at("schemas")
                            .struct_value()
                            .fields();
  const std::string text = response.body;
  for (size_t at = text.find("#/components/schemas/"); at != std::string::npos;
       at = text.find("#/components/schemas/", at + 1)) {
    const size_t start = at + 21;
    const std::string name = text.substr(start, text.find('"', start) - start);
    EXPECT_TRUE(schemas.count(name)) << name;
  }
  EXPECT_TRUE(schemas.count("l4d2.controller.v1.Server"));
}

TEST_F(ApiTest, MetricsAreForAdminsInThePrometheusFormat) {
  Caller admin = SignIn("admin");
  Caller alice = SignIn("alice");
  EXPECT_EQ(Call(alice, "GET", "/metrics").status, 403);
  Call(admin, "GET", "/api/v1/servers");
  HttpResponse metrics = Call(admin, "GET", "/metrics");
  ASSERT_EQ(metrics.status, 200);
  EXPECT_THAT(HeaderValue(metrics, "Content-Type"), HasSubstr("text/plain; version=0.0.4"));
  EXPECT_THAT(
      metrics.body,
      HasSubstr(
          R"(l4d2_http_requests_total{method="GET",route="/api/v1/servers",status="200"} 1)"));
  EXPECT_THAT(metrics.body, HasSubstr("l4d2_http_request_duration_seconds_bucket{"));
  EXPECT_THAT(metrics.body, HasSubstr(R"(l4d2_hosts{state="ready"} 0)"));
  EXPECT_THAT(metrics.body, HasSubstr("l4d2_users 2"));
  EXPECT_THAT(metrics.body, HasSubstr("\nl4d2_more 7\n"));  // the fleet's own series
  EXPECT_THAT(metrics.body, HasSubstr("l4d2_event_stream_clients 0"));
}

TEST_F(ApiTest, TheFleetStreamIsLiveResumableAndFilteredPerViewer) {
  Caller admin = SignIn("admin");
  Caller alice = SignIn("alice");
  auto admin_stream =
      HttpStream::Open(server_->port(), "/api/v1/events", {"Cookie: l4d2_session=" + admin.cookie});
  auto alice_stream =
      HttpStream::Open(server_->port(), "/api/v1/events", {"Cookie: l4d2_session=" + alice.cookie});
  ASSERT_TRUE(admin_stream.ok() && alice_stream.ok());
  ASSERT_TRUE((*admin_stream)->WaitFor("retry: 2000\n\n"));
  ASSERT_TRUE((*alice_stream)->WaitFor("retry: 2000\n\n"));
  EXPECT_THAT((*admin_stream)->received(), HasSubstr("Content-Type: text/event-stream"));
  ASSERT_EQ(
      Call(admin, "POST", "/api/v1/hosts", R"({"name":"h1","address":"10.0.0.1:7000"})").status,
      201);
  const Objects objects = MakeObjectsOf(alice);
  ASSERT_TRUE((*admin_stream)->WaitFor(R"("action":"host.create")")) << (*admin_stream)->received();
  ASSERT_TRUE((*admin_stream)->WaitFor(R"("action":"server.create")"));
  ASSERT_TRUE((*alice_stream)->WaitFor(R"("action":"server.create")"));
  // Alice sees her own objects' changes, not the admin's hosts.
  EXPECT_THAT((*alice_stream)->received(), Not(HasSubstr("host.create")));
  EXPECT_THAT((*alice_stream)->received(), HasSubstr("event: audit\n"));

  // Resume after the host's creation: everything after it, then live.
  const std::string received = (*admin_stream)->received();
  const size_t host_event = received.rfind("id: ", received.find(R"("action":"host.create")")) + 4;
  const std::string resume_from =
      received.substr(host_event, received.find('\n', host_event) - host_event);
  auto resumed =
      HttpStream::Open(server_->port(), "/api/v1/events",
                       {"Cookie: l4d2_session=" + admin.cookie, "Last-Event-ID: " + resume_from});
  ASSERT_TRUE(resumed.ok());
  ASSERT_TRUE((*resumed)->WaitFor(R"("action":"server.create")"));
  EXPECT_THAT((*resumed)->received(), Not(HasSubstr("id: " + resume_from + "\n")));
  EXPECT_THAT((*resumed)->received(), Not(HasSubstr(R"("action":"host.create")")));
  Call(admin, "POST",
       "/api/v1/hosts/" +
           Parse<v1::ListHostsResponse>(Call(admin, "GET", "/api/v1/hosts")).hosts(0).id() +
           "/drain");
  EXPECT_TRUE((*resumed)->WaitFor(R"("action":"host.drain")"));
  EXPECT_TRUE((*admin_stream)->WaitFor(R"("action":"host.drain")"));
}

// Ending a credential ends the streams it opened, within a second and before any later event:
// a revoked token, a signed-out session, a role change, a disabled account, and a token revoked
// by another controller (straight in the database: only the periodic check sees it).
TEST_F(ApiTest, EndingACredentialEndsItsStreams) {
  Caller admin = SignIn("admin");
  Caller alice = SignIn("alice");
  Caller alice_elsewhere = SignIn("alice");
  Caller bob = SignIn("bob");
  const Objects objects = MakeObjectsOf(alice);
  auto token_secret = [&](const std::string& name) {
    HttpResponse made = Call(alice, "POST", "/api/v1/tokens", R"({"name":")" + name + R"("})");
    EXPECT_EQ(made.status, 201);
    return Parse<v1::CreateApiTokenResponse>(made);
  };
  const v1::CreateApiTokenResponse token = token_secret("revoked");
  const v1::CreateApiTokenResponse other_token = token_secret("elsewhere");
  auto open = [&](const std::string& path, const std::string& header) {
    auto stream = HttpStream::Open(server_->port(), path, {header});
    EXPECT_TRUE(stream.ok());
    EXPECT_TRUE((*stream)->WaitFor("retry: 2000\n\n"));
    return *std::move(stream);
  };
  auto by_token = open("/api/v1/events", "Authorization: Bearer " + token.secret());
  auto job_by_token = open("/api/v1/jobs/" + objects.job + "/events/stream",
                           "Authorization: Bearer " + token.secret());
  auto by_other_token = open("/api/v1/events", "Authorization: Bearer " + other_token.secret());
  auto by_session = open("/api/v1/events", "Cookie: l4d2_session=" + alice.cookie);
  auto by_other_session = open("/api/v1/events", "Cookie: l4d2_session=" + alice_elsewhere.cookie);
  auto bobs = open("/api/v1/events", "Cookie: l4d2_session=" + bob.cookie);

  ASSERT_EQ(Call(alice, "DELETE", "/api/v1/tokens/" + token.token().id()).status, 204);
  EXPECT_TRUE(by_token->WaitForClose(absl::Seconds(1)));
  EXPECT_TRUE(job_by_token->WaitForClose(absl::Seconds(1)));
  // An event after the revocation reaches the streams still open, not the ended ones.
  ASSERT_EQ(Call(alice, "POST", "/api/v1/tokens", R"({"name":"after-revoke"})").status, 201);
  EXPECT_TRUE(by_session->WaitFor("after-revoke"));
  EXPECT_THAT(by_token->received(), Not(HasSubstr("after-revoke")));
  EXPECT_THAT(by_token->received(), HasSubstr("event: end\n"));

  ASSERT_EQ(Call(alice, "DELETE", "/api/v1/session").status, 204);
  EXPECT_TRUE(by_session->WaitForClose(absl::Seconds(1)));
  ASSERT_EQ(Call(alice_elsewhere, "POST", "/api/v1/tokens", R"({"name":"after-logout"})").status,
            201);
  EXPECT_TRUE(by_other_session->WaitFor("after-logout"));

  // A new role: alice's remaining streams end (her token's too), bob's does not.
  ASSERT_EQ(Call(admin, "PATCH", "/api/v1/users/" + UserId("alice"), R"({"role":"admin"})").status,
            200);
  EXPECT_TRUE(by_other_session->WaitForClose(absl::Seconds(1)));
  EXPECT_TRUE(by_other_token->WaitForClose(absl::Seconds(1)));
  EXPECT_FALSE(bobs->WaitForClose(absl::Milliseconds(100)));
  ASSERT_EQ(Call(admin, "PATCH", "/api/v1/users/" + UserId("bob"), R"({"disabled":true})").status,
            200);
  EXPECT_TRUE(bobs->WaitForClose(absl::Seconds(1)));

  // Revoked by another controller: the periodic check ends it.
  Caller carol = SignIn("carol");
  HttpResponse made = Call(carol, "POST", "/api/v1/tokens", R"({"name":"ci"})");
  const v1::CreateApiTokenResponse carols = Parse<v1::CreateApiTokenResponse>(made);
  auto carols_stream = open("/api/v1/events", "Authorization: Bearer " + carols.secret());
  ApiTokenStore elsewhere(*db_, clock_);
  ASSERT_TRUE(elsewhere.Revoke(Actor::Operator(UserId("carol")), carols.token().id()).ok());
  EXPECT_TRUE(carols_stream->WaitForClose(absl::Seconds(1)));
  // The new streams of a revoked credential are refused.
  auto refused = HttpStream::Open(server_->port(), "/api/v1/events",
                                  {"Authorization: Bearer " + token.secret()});
  ASSERT_TRUE(refused.ok());
  EXPECT_TRUE((*refused)->WaitFor("401"));
}

TEST_F(ApiTest, AJobStreamReplaysItsEventsAndEndsWithItsState) {
  Caller alice = SignIn("alice");
  const Objects objects = MakeObjectsOf(alice);
  ASSERT_TRUE(stores_->jobs.AppendEvent(objects.job, "step", "placed somewhere").ok());
  ASSERT_TRUE(stores_->jobs.AppendEvent(objects.job, "progress", R"({"percent":50})").ok());
  auto stream = HttpStream::Open(server_->port(), "/api/v1/jobs/" + objects.job + "/events/stream",
                                 {"Cookie: l4d2_session=" + alice.cookie});
  ASSERT_TRUE(stream.ok());
  ASSERT_TRUE((*stream)->WaitFor("id: 0000000000000002\nevent: progress\n"));
  EXPECT_THAT((*stream)->received(), HasSubstr("event: step\n"));
  ASSERT_TRUE(stores_->jobs.AppendEvent(objects.job, "log", "a live line").ok());
  ASSERT_TRUE((*stream)->WaitFor("a live line"));
  ASSERT_TRUE(stores_->jobs.Cancel(objects.job).ok());
  ASSERT_TRUE((*stream)->WaitFor("event: end\n"));
  EXPECT_THAT((*stream)->received(), HasSubstr(R"("state":"cancelled")"));
  // Resuming after the second event replays the rest and the end.
  auto resumed =
      HttpStream::Open(server_->port(), "/api/v1/jobs/" + objects.job + "/events/stream",
                       {"Cookie: l4d2_session=" + alice.cookie, "Last-Event-ID: 0000000000000002"});
  ASSERT_TRUE((*resumed)->WaitFor("event: end\n"));
  EXPECT_THAT((*resumed)->received(), HasSubstr("a live line"));
  EXPECT_THAT((*resumed)->received(), Not(HasSubstr("placed somewhere")));
  // Another user's job stream does not exist for Bob.
  Caller bob = SignIn("bob");
  EXPECT_EQ(Call(bob, "GET", "/api/v1/jobs/" + objects.job + "/events/stream").status, 404);
}

TEST_F(ApiTest, StreamsPerUserAreCapped) {
  Build("http://127.0.0.1:8080", {.max_streams_per_user = 2});
  Caller alice = SignIn("alice");
  std::vector<std::unique_ptr<HttpStream>> open;
  for (int i = 0; i < 2; ++i) {
    auto stream = HttpStream::Open(server_->port(), "/api/v1/events",
                                   {"Cookie: l4d2_session=" + alice.cookie});
    ASSERT_TRUE(stream.ok());
    ASSERT_TRUE((*stream)->WaitFor("retry:"));
    open.push_back(*std::move(stream));
  }
  HttpResponse third = Call(alice, "GET", "/api/v1/events");
  EXPECT_EQ(third.status, 429);
  // A closed stream frees its place.
  open.pop_back();
  EXPECT_TRUE(l4d2::testing::Eventually([&] { return hub_->Stats().clients == 1; }));
  auto again =
      HttpStream::Open(server_->port(), "/api/v1/events", {"Cookie: l4d2_session=" + alice.cookie});
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE((*again)->WaitFor("retry:"));
}

}  // namespace
}  // namespace l4d2::controller

namespace l4d2::controller {
namespace {

// Input the schema does not define, which protobuf's parser would flatten or keep the last of,
// is a 400 naming the field, and creates nothing.
TEST_F(ApiTest, BodiesOutsideTheSchemaAreRefusedNamingTheField) {
  Caller alice = SignIn("alice");
  for (const auto& [body, message] : std::vector<std::pair<std::string, std::string>>{
           {R"({"name":"nested","settings":{"cvars":[[[]]]}})",
            "settings.cvars[0]: a list inside a list"},
           {R"({"name":"twice","name":"again"})", "name: given twice"},
           {R"({"name":"wrong","settings":[]})", "settings: expected an object"},
       }) {
    HttpResponse refused = Call(alice, "POST", "/api/v1/blueprints", body);
    EXPECT_EQ(refused.status, 400) << body;
    EXPECT_THAT(Parse<v1::Error>(refused).message(), HasSubstr(message));
  }
  EXPECT_EQ(Call(alice, "GET", "/api/v1/blueprints").body, "{}");
}

// Every list is paged in SQL: every page holds what the caller sees, in order, each row once,
// with its filters; an admin pages through everyone's (blueprint names repeat across owners:
// the id breaks the tie).
TEST_F(ApiTest, EveryListPagesInSql) {
  Caller admin = SignIn("admin");
  Caller alice = SignIn("alice");
  Caller bob = SignIn("bob");
  for (const Caller* owner : {&alice, &bob}) {
    for (const char* name : {"coop", "versus", "vs-2", "vs-1", "survival", "realism", "vs-3"}) {
      ASSERT_EQ(Call(*owner, "POST", "/api/v1/blueprints",
                     absl::StrCat(R"({"name":")", name, R"(","settings":{"gameMode":"coop"}})"))
                    .status,
                201);
    }
  }
  for (int i = 0; i < 5; ++i) {
    ASSERT_EQ(
        Call(alice, "POST", "/api/v1/overlays",
             absl::StrCat(
                 R"({"ref":"u-alice/m)", i,
                 R"(","source":{"inlineFiles":{"files":[{"path":"a.cfg","content":"eA=="}]}}})"))
            .status,
        201);
  }
  ASSERT_EQ(
      Call(
          admin, "POST", "/api/v1/overlays",
          R"({"ref":"standard","global":true,"source":{"inlineFiles":{"files":[{"path":"a.cfg","content":"eA=="}]}}})")
          .status,
      201);
  auto pages = [&](const Caller& caller, const std::string& path, auto items) {
    std::vector<std::string> seen;
    std::string token;
    for (int page = 0; page < 20; ++page) {
      HttpResponse response =
          Call(caller, "GET",
               absl::StrCat(path, path.find('?') == std::string::npos ? "?" : "&", "limit=3",
                            token.empty() ? "" : "&page_token=" + token));
      EXPECT_EQ(response.status, 200) << response.body;
      token = items(response, seen);
      if (token.empty()) break;
    }
    return seen;
  };
  auto blueprint_names = [&](const HttpResponse& response, std::vector<std::string>& seen) {
    auto list = Parse<v1::ListBlueprintsResponse>(response);
    for (const v1::Blueprint& b : list.blueprints()) seen.push_back(b.name());
    return list.next_page_token();
  };
  auto overlay_refs = [&](const HttpResponse& response, std::vector<std::string>& seen) {
    auto list = Parse<v1::ListOverlaysResponse>(response);
    for (const v1::Overlay& o : list.overlays()) seen.push_back(o.ref());
    return list.next_page_token();
  };
  EXPECT_THAT(
      pages(alice, "/api/v1/blueprints", blueprint_names),
      ::testing::ElementsAre("coop", "realism", "survival", "versus", "vs-1", "vs-2", "vs-3"));
  EXPECT_THAT(pages(alice, "/api/v1/blueprints?q=vs-", blueprint_names),
              ::testing::ElementsAre("vs-1", "vs-2", "vs-3"));
  std::vector<std::string> everyone = pages(admin, "/api/v1/blueprints", blueprint_names);
  EXPECT_EQ(everyone.size(), 14u);
  EXPECT_TRUE(std::is_sorted(everyone.begin(), everyone.end()));
  EXPECT_EQ(std::count(everyone.begin(), everyone.end(), "vs-2"), 2);
  EXPECT_THAT(pages(bob, "/api/v1/overlays", overlay_refs), ::testing::ElementsAre("standard"));
  EXPECT_THAT(pages(alice, "/api/v1/overlays", overlay_refs),
              ::testing::ElementsAre("standard", "u-alice/m0", "u-alice/m1", "u-alice/m2",
                                     "u-alice/m3", "u-alice/m4"));
  EXPECT_THAT(pages(alice, "/api/v1/overlays?global=false&q=u-alice/m3", overlay_refs),
              ::testing::ElementsAre("u-alice/m3"));
  EXPECT_THAT(pages(alice, "/api/v1/overlays?global=true", overlay_refs),
              ::testing::ElementsAre("standard"));
  EXPECT_EQ(Call(alice, "GET", "/api/v1/blueprints?page_token=!!").status, 400);

  // Users, hosts and tokens.
  for (const char* name : {"dave", "erin", "frank", "carol"}) UserId(name);
  auto usernames = [&](const HttpResponse& response, std::vector<std::string>& seen) {
    auto list = Parse<v1::ListUsersResponse>(response);
    for (const v1::User& u : list.users()) seen.push_back(u.username());
    return list.next_page_token();
  };
  EXPECT_THAT(pages(admin, "/api/v1/users", usernames),
              ::testing::ElementsAre("admin", "alice", "bob", "carol", "dave", "erin", "frank"));
  EXPECT_THAT(pages(admin, "/api/v1/users?role=admin", usernames), ::testing::ElementsAre("admin"));
  EXPECT_THAT(pages(admin, "/api/v1/users?q=e", usernames), ::testing::ElementsAre("erin"));
  EXPECT_EQ(Call(admin, "GET", "/api/v1/users?role=king").status, 400);
  for (const char* name : {"h5", "h1", "h4", "h2", "h3"}) {
    ASSERT_EQ(Call(admin, "POST", "/api/v1/hosts",
                   absl::StrCat(R"({"name":")", name, R"(","address":"10.0.0.1:7000"})"))
                  .status,
              201);
  }
  auto hostnames = [&](const HttpResponse& response, std::vector<std::string>& seen) {
    auto list = Parse<v1::ListHostsResponse>(response);
    for (const v1::Host& h : list.hosts()) seen.push_back(h.name());
    return list.next_page_token();
  };
  EXPECT_THAT(pages(admin, "/api/v1/hosts", hostnames),
              ::testing::ElementsAre("h1", "h2", "h3", "h4", "h5"));
  EXPECT_THAT(pages(admin, "/api/v1/hosts?state=ready", hostnames), ::testing::IsEmpty());
  for (int i = 0; i < 4; ++i) {
    ASSERT_EQ(Call(bob, "POST", "/api/v1/tokens", absl::StrCat(R"({"name":"t)", i, R"("})")).status,
              201);
  }
  auto token_names = [&](const HttpResponse& response, std::vector<std::string>& seen) {
    auto list = Parse<v1::ListApiTokensResponse>(response);
    for (const v1::ApiToken& t : list.tokens()) seen.push_back(t.name());
    return list.next_page_token();
  };
  EXPECT_THAT(pages(bob, "/api/v1/tokens", token_names),
              ::testing::ElementsAre("t3", "t2", "t1", "t0"));
  EXPECT_EQ(pages(admin, "/api/v1/tokens", token_names).size(), 4u);  // everyone's: bob's
}

TEST_F(ApiTest, ServerListsPageInSqlAndPrintAsProtobufDoes) {
  Caller alice = SignIn("alice");
  const Objects objects = MakeObjectsOf(alice);
  for (int i = 0; i < 4; ++i) {
    ASSERT_EQ(Call(alice, "POST", "/api/v1/servers",
                   absl::StrCat(R"({"name":"web-)", i, R"(","blueprintId":")", objects.blueprint,
                                R"(","desiredState":"stopped"})"))
                  .status,
              202);
  }
  std::vector<std::string> names;
  std::string token;
  for (int pages = 0; pages < 5; ++pages) {
    HttpResponse response =
        Call(alice, "GET",
             "/api/v1/servers?q=web-&limit=3" + (token.empty() ? "" : "&page_token=" + token));
    ASSERT_EQ(response.status, 200);
    auto page = Parse<v1::ListServersResponse>(response);
    // The assembled body is exactly protobuf's printing of the message.
    EXPECT_EQ(response.body, ToJson(page));
    for (const v1::Server& server : page.servers()) names.push_back(server.name());
    token = page.next_page_token();
    if (token.empty()) break;
  }
  EXPECT_THAT(names, ::testing::ElementsAre("web-0", "web-1", "web-2", "web-3"));
  // A changed row is printed afresh, in a list and alone, though both were shown before.
  auto desired_in_list = [&] {
    auto all = Parse<v1::ListServersResponse>(Call(alice, "GET", "/api/v1/servers"));
    for (const v1::Server& server : all.servers()) {
      if (server.id() == objects.server) return server.desired_state();
    }
    return std::string("absent");
  };
  auto desired_alone = [&] {
    return Parse<v1::Server>(Call(alice, "GET", "/api/v1/servers/" + objects.server))
        .desired_state();
  };
  ASSERT_EQ(desired_in_list(), "stopped");
  ASSERT_EQ(desired_alone(), "stopped");
  ASSERT_EQ(Call(alice, "POST", "/api/v1/servers/" + objects.server + "/start").status, 202);
  EXPECT_EQ(desired_in_list(), "running");
  EXPECT_EQ(desired_alone(), "running");
  auto all =
      Parse<v1::ListServersResponse>(Call(alice, "GET", "/api/v1/servers?desired_state=running"));
  ASSERT_EQ(all.servers_size(), 1);
  EXPECT_EQ(all.servers(0).desired_state(), "running");
  EXPECT_EQ(Call(alice, "GET", "/api/v1/servers?q=nothing").body, "{}");
  // States are names the API knows: anything else is a 400 naming the parameter, and a create
  // with a desired state it does not know makes nothing.
  HttpResponse unknown_filter = Call(alice, "GET", "/api/v1/servers?actual_state=paused");
  EXPECT_EQ(unknown_filter.status, 400);
  EXPECT_THAT(unknown_filter.body, HasSubstr("actual_state: expected"));
  EXPECT_EQ(Call(alice, "GET", "/api/v1/servers?desired_state=paused").status, 400);
  HttpResponse unknown_desired =
      Call(alice, "POST", "/api/v1/servers",
           absl::StrCat(R"({"name":"paused","blueprintId":")", objects.blueprint,
                        R"(","desiredState":"paused"})"));
  EXPECT_EQ(unknown_desired.status, 400);
  EXPECT_THAT(unknown_desired.body, HasSubstr("desired_state"));
  EXPECT_EQ(Call(alice, "GET", "/api/v1/servers?q=paused").body, "{}");
  EXPECT_EQ(Parse<v1::ListServersResponse>(
                Call(alice, "GET", "/api/v1/servers?actual_state=missing&q=web-"))
                .servers_size(),
            0);
}

// Every list answers from each row's remembered JSON: the body is still protobuf's printing,
// and a change shows at once, in every page that lists the row.
TEST_F(ApiTest, ListsFromRememberedJsonPrintAsProtobufDoesAndShowChangesAtOnce) {
  Caller alice = SignIn("alice");
  const Objects objects = MakeObjectsOf(alice);
  ASSERT_EQ(Call(alice, "POST", "/api/v1/blueprints", R"({"name":"coop"})").status, 201);
  auto blueprints = [&](const std::string& query) {
    HttpResponse response = Call(alice, "GET", "/api/v1/blueprints" + query);
    EXPECT_EQ(response.status, 200);
    auto page = Parse<v1::ListBlueprintsResponse>(response);
    EXPECT_EQ(response.body, ToJson(page));
    return page;
  };
  v1::ListBlueprintsResponse first = blueprints("?limit=1");
  ASSERT_EQ(first.blueprints_size(), 1);
  EXPECT_EQ(first.blueprints(0).name(), "coop");
  EXPECT_EQ(blueprints("?limit=1&page_token=" + first.next_page_token()).blueprints(0).name(),
            "versus");
  ASSERT_EQ(blueprints("").blueprints(1).settings().max_players(), 8);
  HttpResponse changed =
      Call(alice, "PUT", "/api/v1/blueprints/" + objects.blueprint,
           R"({"name":"versus","settings":{"gameMode":"versus","maxPlayers":4}})");
  ASSERT_EQ(changed.status, 200) << changed.body;
  v1::ListBlueprintsResponse after = blueprints("");
  EXPECT_EQ(after.blueprints(1).settings().max_players(), 4);
  EXPECT_EQ(after.blueprints(1).overlays_size(), 0);
  EXPECT_EQ(blueprints("?q=ver").blueprints(0).settings().max_players(), 4);

  auto overlays = [&] {
    HttpResponse response = Call(alice, "GET", "/api/v1/overlays");
    EXPECT_EQ(response.status, 200);
    auto page = Parse<v1::ListOverlaysResponse>(response);
    EXPECT_EQ(response.body, ToJson(page));
    return page;
  };
  ASSERT_EQ(overlays().overlays_size(), 1);
  EXPECT_EQ(overlays().overlays(0).revision(), 1);
  ASSERT_EQ(Call(alice, "PUT", "/api/v1/overlays/" + objects.overlay,
                 R"({"source":{"inlineFiles":{"files":[{"path":"left4dead2/cfg/y.cfg"}]}}})")
                .status,
            200);
  v1::ListOverlaysResponse updated = overlays();
  EXPECT_EQ(updated.overlays(0).revision(), 2);
  EXPECT_EQ(updated.overlays(0).source().inline_files().files(0).path(), "left4dead2/cfg/y.cfg");

  auto job_state = [&] {
    HttpResponse response = Call(alice, "GET", "/api/v1/jobs");
    auto page = Parse<v1::ListJobsResponse>(response);
    EXPECT_EQ(response.body, ToJson(page));
    for (const v1::Job& job : page.jobs()) {
      if (job.id() == objects.job) return job.state();
    }
    return std::string("absent");
  };
  ASSERT_EQ(job_state(), "queued");
  ASSERT_EQ(Call(alice, "POST", "/api/v1/jobs/" + objects.job + "/cancel").status, 202);
  EXPECT_EQ(job_state(), "cancelled");

  auto token_revoked = [&] {
    auto page = Parse<v1::ListApiTokensResponse>(Call(alice, "GET", "/api/v1/tokens"));
    for (const v1::ApiToken& token : page.tokens()) {
      if (token.id() == objects.token) return token.has_revoked_at();
    }
    return false;
  };
  ASSERT_FALSE(token_revoked());
  ASSERT_EQ(Call(alice, "DELETE", "/api/v1/tokens/" + objects.token).status, 204);
  EXPECT_TRUE(token_revoked());

  // Another user's rows stay out of a memo shared by all callers.
  Caller bob = SignIn("bob");
  EXPECT_EQ(Call(bob, "GET", "/api/v1/blueprints").body, "{}");
  EXPECT_EQ(Call(bob, "GET", "/api/v1/overlays").body, "{}");
  EXPECT_EQ(Call(bob, "GET", "/api/v1/jobs").body, "{}");
}

}  // namespace
}  // namespace l4d2::controller

namespace l4d2::controller {
namespace {

// The routes the other tests only reach through the matrices, each doing its job once.
TEST_F(ApiTest, EachRemainingRouteDoesWhatItSays) {
  Caller admin = SignIn("admin");
  Caller alice = SignIn("alice");
  const Objects objects = MakeObjectsOf(alice);
  // Users: one, by id.
  EXPECT_EQ(Parse<v1::User>(Call(admin, "GET", "/api/v1/users/" + UserId("alice"))).username(),
            "alice");
  // Overlays: a new revision, a sync to every ready host (none here), delete when unused.
  HttpResponse updated = Call(
      alice, "PUT", "/api/v1/overlays/" + objects.overlay,
      R"({"source":{"inlineFiles":{"files":[{"path":"left4dead2/cfg/y.cfg","content":"eQ=="}]}}})");
  ASSERT_EQ(updated.status, 200) << updated.body;
  EXPECT_EQ(Parse<v1::Overlay>(updated).revision(), 2);
  HttpResponse synced = Call(alice, "POST", "/api/v1/overlays/" + objects.overlay + "/sync");
  EXPECT_EQ(synced.status, 202);
  EXPECT_EQ(Parse<v1::JobRefs>(synced).job_ids_size(), 0);
  EXPECT_EQ(Call(alice, "DELETE", "/api/v1/overlays/" + objects.overlay).status, 409);  // in use
  // Blueprints: one, a change, a second one the server switches to.
  EXPECT_EQ(
      Parse<v1::Blueprint>(Call(alice, "GET", "/api/v1/blueprints/" + objects.blueprint)).name(),
      "versus");
  HttpResponse changed = Call(alice, "PUT", "/api/v1/blueprints/" + objects.blueprint,
                              R"({"name":"versus","settings":{"gameMode":"coop","maxPlayers":4}})");
  ASSERT_EQ(changed.status, 200) << changed.body;
  EXPECT_EQ(Parse<v1::Blueprint>(changed).settings().game_mode(), "coop");
  HttpResponse other = Call(alice, "POST", "/api/v1/blueprints",
                            R"({"name":"realism","settings":{"gameMode":"realism"}})");
  ASSERT_EQ(other.status, 201);
  HttpResponse switched =
      Call(alice, "POST", "/api/v1/servers/" + objects.server + "/blueprint",
           absl::StrCat(R"({"blueprintId":")", Parse<v1::Blueprint>(other).id(), R"("})"));
  ASSERT_EQ(switched.status, 202) << switched.body;
  auto job =
      Parse<v1::Job>(Call(alice, "GET", "/api/v1/jobs/" + Parse<v1::JobRef>(switched).job_id()));
  EXPECT_EQ(job.kind(), "server.change_blueprint");
  // Server actions queue their kinds; stop leaves the server stopped by intent.
  for (const char* action : {"restart", "reset", "stop"}) {
    HttpResponse queued =
        Call(alice, "POST", absl::StrCat("/api/v1/servers/", objects.server, "/", action));
    ASSERT_EQ(queued.status, 202) << action;
    EXPECT_EQ(
        Parse<v1::Job>(Call(alice, "GET", "/api/v1/jobs/" + Parse<v1::JobRef>(queued).job_id()))
            .kind(),
        absl::StrCat("server.", action));
  }
  EXPECT_EQ(
      Parse<v1::Server>(Call(alice, "GET", "/api/v1/servers/" + objects.server)).desired_state(),
      "stopped");
  // A job's event log, paged.
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(stores_->jobs.AppendEvent(objects.job, "log", absl::StrCat("line ", i)).ok());
  }
  auto events = Parse<v1::ListJobEventsResponse>(
      Call(alice, "GET", "/api/v1/jobs/" + objects.job + "/events?limit=2"));
  ASSERT_EQ(events.events_size(), 2);
  EXPECT_EQ(events.events(0).data().string_value(), "line 0");
  auto rest = Parse<v1::ListJobEventsResponse>(
      Call(alice, "GET",
           "/api/v1/jobs/" + objects.job + "/events?page_token=" + events.next_page_token()));
  ASSERT_EQ(rest.events_size(), 1);
  EXPECT_EQ(rest.events(0).seq(), 3);
  // Metric samples for charts, within the window asked for.
  ASSERT_TRUE(db_->Transact([&](soci::session& sql) {
                   for (int i = 0; i < 3; ++i) {
                     long long at = absl::ToUnixMillis(clock_.Now() - absl::Minutes(10 * i));
                     sql << "INSERT INTO metric_samples (server_id, at_ms, players, cpu_millis,"
                            " memory_bytes) VALUES (:s, :a, :p, 5, 1048576)",
                         soci::use(objects.server), soci::use(at), soci::use(i);
                   }
                   return absl::OkStatus();
                 })
                  .ok());
  auto series =
      Parse<v1::MetricSeries>(Call(alice, "GET", "/api/v1/servers/" + objects.server + "/metrics"));
  EXPECT_EQ(series.samples_size(), 3);
  const std::string from =
      absl::FormatTime(absl::RFC3339_full, clock_.Now() - absl::Minutes(15), absl::UTCTimeZone());
  series = Parse<v1::MetricSeries>(
      Call(alice, "GET", "/api/v1/servers/" + objects.server + "/metrics?from=" + from));
  EXPECT_EQ(series.samples_size(), 2);
  // At most max_points points (the samples of a bucket as one), with the step they are at.
  series = Parse<v1::MetricSeries>(
      Call(alice, "GET",
           "/api/v1/servers/" + objects.server + "/metrics?from=" + from + "&max_points=1"));
  EXPECT_EQ(series.samples_size(), 1);
  EXPECT_EQ(series.samples(0).players(), 1);  // the highest of the two
  EXPECT_EQ(series.step().seconds(), 901);    // from 15 minutes ago to a second from now
  for (const char* bad : {"0", "5001", "many"}) {
    HttpResponse refused =
        Call(alice, "GET", "/api/v1/servers/" + objects.server + "/metrics?max_points=" + bad);
    EXPECT_EQ(refused.status, 400) << bad;
    EXPECT_THAT(refused.body, HasSubstr("max_points: 1 to 5000"));
  }
  // The newest sample is the server's live figures, shown with the server alone.
  v1::Server shown = Parse<v1::Server>(Call(alice, "GET", "/api/v1/servers/" + objects.server));
  EXPECT_EQ(shown.live().players(), 0);
  EXPECT_EQ(shown.live().memory_bytes(), 1048576);
  EXPECT_EQ(shown.live().cpu_usage().nanos(), 5000000);
  EXPECT_EQ(shown.live().at().seconds(), absl::ToUnixSeconds(clock_.Now()));
  EXPECT_FALSE(
      Parse<v1::ListServersResponse>(Call(alice, "GET", "/api/v1/servers")).servers(0).has_live());
  // Delete queues the server's removal; the token list shows Alice's token.
  HttpResponse deleted = Call(alice, "DELETE", "/api/v1/servers/" + objects.server);
  EXPECT_EQ(deleted.status, 202);
  EXPECT_EQ(Parse<v1::ListApiTokensResponse>(Call(alice, "GET", "/api/v1/tokens")).tokens_size(),
            1);
  // Every change above is in the audit log with Alice as the actor.
  auto audit = Parse<v1::ListAuditResponse>(Call(alice, "GET", "/api/v1/audit?limit=100"));
  std::set<std::string> actions;
  for (const v1::AuditEntry& entry : audit.entries()) actions.insert(entry.action());
  for (const char* action : {"overlay.update", "overlay.sync", "blueprint.update",
                             "blueprint.create", "server.change_blueprint", "server.restart",
                             "server.reset", "server.stop", "server.delete", "token.create"}) {
    EXPECT_TRUE(actions.count(action)) << action;
  }
}

// The web UI's dashboard: what the caller sees, counted in SQL, with the players chart from the
// minute samples the reconciler writes (fleet_counts.h: SamplePlayers).
TEST_F(ApiTest, TheSummaryCountsWhatTheCallerSees) {
  Caller admin = SignIn("admin");
  Caller alice = SignIn("alice");
  Caller bob = SignIn("bob");
  ASSERT_EQ(
      Call(admin, "POST", "/api/v1/hosts", R"({"name":"h1","address":"10.0.0.1:7000"})").status,
      201);
  const Objects objects = MakeObjectsOf(alice);
  ASSERT_TRUE(db_->WithSession([&](soci::session& sql) {
                   sql << "UPDATE servers SET actual_state = 'running', players = 3 WHERE id = :id",
                       soci::use(objects.server);
                   return absl::OkStatus();
                 })
                  .ok());
  ASSERT_TRUE(*SamplePlayers(*db_, clock_.Now(), clock_.Now() - absl::Hours(192)));
  // Another controller's round in the same minute writes nothing more.
  EXPECT_FALSE(*SamplePlayers(*db_, clock_.Now() + absl::Seconds(1), clock_.Now()));

  v1::FleetSummary seen = Parse<v1::FleetSummary>(Call(alice, "GET", "/api/v1/summary"));
  EXPECT_EQ(seen.hosts(), 0);  // hosts are admins'
  EXPECT_EQ(seen.servers(), 1);
  EXPECT_EQ(seen.servers_by_state().at("running"), 1);
  EXPECT_EQ(seen.players(), 3);
  EXPECT_EQ(seen.jobs_active(), 1);  // the server's create job, queued (no scheduler here)
  ASSERT_EQ(seen.players_history_size(), 1);
  EXPECT_EQ(seen.players_history(0).players(), 3);

  v1::FleetSummary nothing = Parse<v1::FleetSummary>(Call(bob, "GET", "/api/v1/summary"));
  EXPECT_EQ(nothing.servers(), 0);
  EXPECT_EQ(nothing.players(), 0);
  EXPECT_EQ(nothing.jobs_active(), 0);
  EXPECT_EQ(nothing.players_history_size(), 0);

  v1::FleetSummary all = Parse<v1::FleetSummary>(Call(admin, "GET", "/api/v1/summary"));
  EXPECT_EQ(all.hosts(), 1);
  EXPECT_EQ(all.hosts_by_state().at("enrolling"), 1);
  EXPECT_EQ(all.servers(), 1);
  EXPECT_EQ(all.players(), 3);
  ASSERT_EQ(all.players_history_size(), 1);
  EXPECT_EQ(all.players_history(0).players(), 3);

  // Once the server's game log is heard, the chart counts its players as the log tells them.
  ASSERT_TRUE(db_->WithSession([&](soci::session& sql) {
                   sql << "INSERT INTO server_game_logs (server_id, epoch, seq, map,"
                          " update_required, players, sessions_started, updated_at_ms)"
                          " VALUES (:id, 1, 9, 'c1m1_hotel', 0, 5, 9, 0)",
                       soci::use(objects.server);
                   return absl::OkStatus();
                 })
                  .ok());
  clock_.Advance(absl::Minutes(1));
  ASSERT_TRUE(*SamplePlayers(*db_, clock_.Now(), clock_.Now() - absl::Hours(192)));
  seen = Parse<v1::FleetSummary>(Call(alice, "GET", "/api/v1/summary"));
  ASSERT_EQ(seen.players_history_size(), 2);
  EXPECT_EQ(seen.players_history(1).players(), 5);
}

// The YAML of `l4d2ctl blueprints export/apply` over HTTP, for the web UI's import and export.
TEST_F(ApiTest, BlueprintsExportAndImportAsL4d2ctlsYaml) {
  Caller alice = SignIn("alice");
  Caller bob = SignIn("bob");
  const Objects objects = MakeObjectsOf(alice);
  const std::string overlay_ref =
      Parse<v1::Overlay>(Call(alice, "GET", "/api/v1/overlays/" + objects.overlay)).ref();
  HttpResponse exported = Call(alice, "GET", "/api/v1/blueprints/" + objects.blueprint + "/yaml");
  ASSERT_EQ(exported.status, 200) << exported.body;
  const std::string yaml = Parse<v1::BlueprintYaml>(exported).yaml();
  EXPECT_THAT(yaml, HasSubstr("name: versus"));
  EXPECT_THAT(yaml, HasSubstr(overlay_ref));
  EXPECT_EQ(Call(bob, "GET", "/api/v1/blueprints/" + objects.blueprint + "/yaml").status, 404);

  auto apply = [&](const Caller& caller, const std::string& text) {
    v1::BlueprintYaml file;
    file.set_yaml(text);
    return Call(caller, "POST", "/api/v1/blueprints/yaml", ToJson(file));
  };
  // Read back as it was written: the same blueprint, updated in place.
  std::string changed = absl::StrReplaceAll(yaml, {{"max_players: 8", "max_players: 12"}});
  ASSERT_NE(changed, yaml);
  HttpResponse updated = apply(alice, changed);
  ASSERT_EQ(updated.status, 200) << updated.body;
  EXPECT_EQ(Parse<v1::Blueprint>(updated).id(), objects.blueprint);
  EXPECT_EQ(Parse<v1::Blueprint>(updated).settings().max_players(), 12);
  // Another name is a new blueprint; bob's file of the same name is bob's own.
  HttpResponse created = apply(alice, "name: coop2\nmax_players: 4\n");
  EXPECT_EQ(created.status, 201) << created.body;
  HttpResponse bobs = apply(bob, "name: versus\n");
  EXPECT_EQ(bobs.status, 201) << bobs.body;
  EXPECT_NE(Parse<v1::Blueprint>(bobs).id(), objects.blueprint);
  // Bad files change nothing and say why.
  const size_t before =
      Parse<v1::ListBlueprintsResponse>(Call(alice, "GET", "/api/v1/blueprints")).blueprints_size();
  HttpResponse unknown_overlay = apply(alice, "name: x1\noverlays: [nope]\n");
  EXPECT_EQ(unknown_overlay.status, 400);
  EXPECT_THAT(unknown_overlay.body, HasSubstr("no overlay 'nope'"));
  HttpResponse bad_key = apply(alice, "name: x2\nmax_playerz: 4\n");
  EXPECT_EQ(bad_key.status, 400);
  EXPECT_THAT(bad_key.body, HasSubstr("max_playerz"));
  EXPECT_EQ(apply(alice, "name: x3\nport: 27015\n").status, 400);
  EXPECT_EQ(
      Parse<v1::ListBlueprintsResponse>(Call(alice, "GET", "/api/v1/blueprints")).blueprints_size(),
      before);
}

// Whether an update is available is asked of the host's agent (steamcmd); a host that has not
// enrolled has no agent to ask, and operators do not manage hosts.
TEST_F(ApiTest, CheckingForAnUpdateNeedsAnEnrolledHostAndAnAdmin) {
  Caller admin = SignIn("admin");
  Caller alice = SignIn("alice");
  HttpResponse created =
      Call(admin, "POST", "/api/v1/hosts", R"({"name":"h1","address":"10.0.0.1:7000"})");
  ASSERT_EQ(created.status, 201);
  const std::string id = Parse<v1::CreateHostResponse>(created).host().id();
  HttpResponse enrolling = Call(admin, "GET", "/api/v1/hosts/" + id + "/update");
  EXPECT_EQ(enrolling.status, 409);
  EXPECT_THAT(enrolling.body, HasSubstr("has not enrolled yet"));
  EXPECT_EQ(Call(alice, "GET", "/api/v1/hosts/" + id + "/update").status, 403);
  EXPECT_EQ(Call(admin, "GET", "/api/v1/hosts/hnothing/update").status, 404);
}

TEST_F(ApiTest, TheAuditLogFiltersByActorActionAndTarget) {
  Caller admin = SignIn("admin");
  Caller alice = SignIn("alice");
  const Objects objects = MakeObjectsOf(alice);
  ASSERT_EQ(
      Call(admin, "POST", "/api/v1/hosts", R"({"name":"h1","address":"10.0.0.1:7000"})").status,
      201);
  auto actions = [&](const std::string& query) {
    std::vector<std::string> seen;
    const v1::ListAuditResponse page =
        Parse<v1::ListAuditResponse>(Call(admin, "GET", "/api/v1/audit?" + query));
    for (const v1::AuditEntry& entry : page.entries()) seen.push_back(entry.action());
    return seen;
  };
  EXPECT_THAT(actions("action=server."), ::testing::ElementsAre("server.create"));
  EXPECT_THAT(actions("action=host"), ::testing::ElementsAre("host.create"));
  EXPECT_THAT(actions("target=" + objects.blueprint), ::testing::ElementsAre("blueprint.create"));
  // Escapes in the query are decoded (Pistache leaves them): "user%3A" is "user:".
  const std::vector<std::string> alices = actions("actor=user%3A" + UserId("alice"));
  EXPECT_THAT(alices, ::testing::Contains("overlay.create"));
  EXPECT_THAT(alices, Not(::testing::Contains("host.create")));
  EXPECT_TRUE(actions("action=nothing.").empty());
  // Operators' filters stay within what they see.
  const v1::ListAuditResponse alices_hosts =
      Parse<v1::ListAuditResponse>(Call(alice, "GET", "/api/v1/audit?action=host."));
  EXPECT_EQ(alices_hosts.entries_size(), 0);
  EXPECT_EQ(Call(admin, "GET", "/api/v1/audit?actor=" + std::string(201, 'x')).status, 400);
}

// A new EventSource cannot send Last-Event-ID: the query resumes it. Servers whose state,
// map or players change reach their viewers live as `server` events without ids.
TEST_F(ApiTest, TheFleetStreamResumesFromTheQueryAndCarriesServerStatesLive) {
  Caller admin = SignIn("admin");
  Caller alice = SignIn("alice");
  Caller bob = SignIn("bob");
  auto first =
      HttpStream::Open(server_->port(), "/api/v1/events", {"Cookie: l4d2_session=" + alice.cookie});
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE((*first)->WaitFor("retry: 2000\n\n"));
  const Objects objects = MakeObjectsOf(alice);
  ASSERT_TRUE((*first)->WaitFor(R"("action":"overlay.create")"));
  const std::string received = (*first)->received();
  const size_t at = received.rfind("id: ", received.find(R"("action":"overlay.create")")) + 4;
  const std::string overlay_event = received.substr(at, received.find('\n', at) - at);
  auto resumed = HttpStream::Open(server_->port(), "/api/v1/events?last_event_id=" + overlay_event,
                                  {"Cookie: l4d2_session=" + alice.cookie});
  ASSERT_TRUE(resumed.ok());
  ASSERT_TRUE((*resumed)->WaitFor(R"("action":"server.create")"));
  EXPECT_THAT((*resumed)->received(), Not(HasSubstr(R"("action":"overlay.create")")));

  auto admins =
      HttpStream::Open(server_->port(), "/api/v1/events", {"Cookie: l4d2_session=" + admin.cookie});
  auto bobs =
      HttpStream::Open(server_->port(), "/api/v1/events", {"Cookie: l4d2_session=" + bob.cookie});
  ASSERT_TRUE(admins.ok() && bobs.ok());
  ASSERT_TRUE((*admins)->WaitFor("retry: 2000\n\n") && (*bobs)->WaitFor("retry: 2000\n\n"));
  // A report: the server runs with 3 players.
  const long long at_ms = absl::ToUnixMillis(clock_.Now() + absl::Seconds(1));
  ASSERT_TRUE(db_->WithSession([&](soci::session& sql) {
                   sql << "UPDATE servers SET actual_state = 'running', players = 3,"
                          " status_at_ms = :t WHERE id = :id",
                       soci::use(at_ms), soci::use(objects.server);
                   return absl::OkStatus();
                 })
                  .ok());
  clock_.Advance(absl::Seconds(2));
  const std::string event = absl::StrCat("event: server\ndata: {\"id\":\"", objects.server);
  ASSERT_TRUE((*first)->WaitFor(event)) << (*first)->received();
  EXPECT_TRUE((*admins)->WaitFor(event));
  // One frame: no id (a status is not replayed), the server as the API shows it.
  const std::string all = (*first)->received();
  const size_t start = all.rfind("\n\n", all.find(event)) + 2;
  const std::string frame = all.substr(start, all.find("\n\n", start) - start);
  EXPECT_THAT(frame, HasSubstr(R"("actualState":"running")"));
  EXPECT_THAT(frame, Not(HasSubstr("id: ")));
  // Unchanged at the next look, it is not sent again; those who do not see it never get it
  // (events reach a stream in order: their own later entry shows the server's went by).
  clock_.Advance(absl::Seconds(2));
  ASSERT_EQ(Call(alice, "POST", "/api/v1/tokens", R"({"name":"after"})").status, 201);
  ASSERT_EQ(Call(bob, "POST", "/api/v1/tokens", R"({"name":"after"})").status, 201);
  ASSERT_TRUE((*first)->WaitFor(R"("action":"token.create")"));
  ASSERT_TRUE((*bobs)->WaitFor(R"("action":"token.create")"));
  const std::string seen = (*first)->received();
  EXPECT_EQ(seen.find(event), seen.rfind(event));
  EXPECT_THAT((*bobs)->received(), Not(HasSubstr("event: server")));
}

}  // namespace
}  // namespace l4d2::controller

namespace l4d2::controller {
namespace {

// Every statement the GET routes run, as an admin and as an operator, with every filter a list
// takes and a second page, on a database seeded with a busy fleet's history and ANALYZEd (as
// `PRAGMA optimize` does): SQLite's plan never scans a big table, and walks an index in full
// only to stop at a LIMIT (issue Scale). A route added later is checked without a word here;
// a new filter needs its line below.
// SQLite's plan of `statement` (its parameters unbound): no scan of a big table but an index
// walk a LIMIT stops or a covering count of the fleet's present; no page sorted in a temporary
// B-tree (but the pages a UNION merges).
void CheckSqlitePlan(Database& db, const std::string& statement, const std::set<std::string>& big) {
  std::string plan;
  ASSERT_TRUE(db.WithSession([&](soci::session& sql) {
                  std::string detail;
                  int id = 0, parent = 0, unused = 0;
                  soci::statement rows =
                      (sql.prepare << "EXPLAIN QUERY PLAN " + statement, soci::into(id),
                       soci::into(parent), soci::into(unused), soci::into(detail));
                  rows.execute();
                  while (rows.fetch()) plan += detail + "\n";
                  return absl::OkStatus();
                }).ok())
      << statement;
  const std::vector<absl::string_view> lines = absl::StrSplit(plan, '\n', absl::SkipEmpty());
  for (size_t i = 1; i < lines.size(); ++i) {
    // A UNION's pages are merged in order: each page's rows ("SCAN <the page's alias>") are
    // sorted, not a big table's.
    if (lines[i] == "USE TEMP B-TREE FOR ORDER BY" && absl::StrContains(statement, "LIMIT")) {
      const std::vector<std::string> input = absl::StrSplit(lines[i - 1], ' ');
      EXPECT_TRUE(input.size() == 2 && input[0] == "SCAN" && !big.contains(input[1]))
          << statement << "\n"
          << plan;
    }
  }
  for (absl::string_view line : lines) {
    if (!absl::StartsWith(line, "SCAN ")) continue;
    const std::vector<std::string> words = absl::StrSplit(line, ' ');
    if (!big.contains(words[1])) continue;
    // Walking an index is fine when a LIMIT stops it (a page); reading a whole covering
    // index is fine for a count of what the fleet is now (the dashboard's, /metrics'),
    // never the rows, and never a count of history (a year of jobs: kept counts instead).
    const bool paged = absl::StrContains(line, " USING ") && absl::StrContains(statement, "LIMIT");
    const bool counted =
        absl::StrContains(line, " USING COVERING INDEX ") &&
        (absl::StrContains(statement, "COUNT(") || absl::StrContains(statement, "SUM(")) &&
        (words[1] == "servers" || words[1] == "hosts" || words[1] == "server_game_logs");
    EXPECT_TRUE(paged || counted) << statement << "\n" << plan;
  }
}

// `statement` with SOCI's named parameters (":name", outside quotes, not "::") as $1, $2...
// in order, as SOCI's PostgreSQL backend sends it; how many it has in `count`.
std::string NumberedParameters(const std::string& statement, int& count) {
  std::string out;
  count = 0;
  bool quoted = false;
  for (size_t i = 0; i < statement.size(); ++i) {
    const char c = statement[i];
    if (c == '\'') quoted = !quoted;
    if (!quoted && c == ':' && i + 1 < statement.size() && statement[i + 1] == ':') {
      out += "::";
      ++i;
      continue;
    }
    if (!quoted && c == ':' && i + 1 < statement.size() &&
        (absl::ascii_isalpha(statement[i + 1]) || statement[i + 1] == '_')) {
      size_t end = i + 1;
      while (end < statement.size() &&
             (absl::ascii_isalnum(statement[end]) || statement[end] == '_')) {
        ++end;
      }
      absl::StrAppend(&out, "$", ++count);
      i = end - 1;
      continue;
    }
    out += c;
  }
  return out;
}

// Walks a plan node of EXPLAIN (FORMAT JSON) and its children.
void CheckPostgresNode(const google::protobuf::Struct& node, const std::string& statement,
                       const std::set<std::string>& big, const std::set<std::string>& partial,
                       const std::string& plan) {
  const auto& fields = node.fields();
  auto text = [&](const char* name) {
    auto it = fields.find(name);
    return it == fields.end() ? std::string() : it->second.string_value();
  };
  const std::string type = text("Node Type");
  const std::string relation = text("Relation Name");
  auto children = fields.find("Plans");
  if (type == "Sort" && absl::StrContains(statement, "LIMIT") && children != fields.end()) {
    // A page sorted read every matching row of its table to sort it; the merge of a UNION's
    // pages sorts the pages' rows (a subquery, an append), which is fine.
    for (const google::protobuf::Value& child : children->second.list_value().values()) {
      const auto& input = child.struct_value().fields();
      EXPECT_FALSE(input.contains("Relation Name")) << statement << "\n" << plan;
    }
  }
  if (big.contains(relation)) {
    EXPECT_NE(type, "Seq Scan") << statement << "\n" << plan;
    if (type == "Index Scan" || type == "Index Only Scan") {
      // As on SQLite: a whole index walked only to be stopped by a LIMIT, or counted for the
      // fleet's present; or a partial index, which holds only the rows of its condition (the
      // running jobs' locks).
      const bool conditioned = !text("Index Cond").empty() || partial.contains(text("Index Name"));
      const bool paged = absl::StrContains(statement, "LIMIT");
      const bool counted =
          type == "Index Only Scan" &&
          (absl::StrContains(statement, "COUNT(") || absl::StrContains(statement, "SUM(")) &&
          (relation == "servers" || relation == "hosts" || relation == "server_game_logs");
      EXPECT_TRUE(conditioned || paged || counted) << statement << "\n" << plan;
    }
  }

  if (children == fields.end()) return;
  for (const google::protobuf::Value& child : children->second.list_value().values()) {
    CheckPostgresNode(child.struct_value(), statement, big, partial, plan);
  }
}

// PostgreSQL's generic plan of `statement` (the one any parameters may get), with sequential
// scans and sorts priced out of reach: one left in the plan is one no index avoids.
void CheckPostgresPlan(Database& db, const std::string& statement,
                       const std::set<std::string>& big) {
  int parameters = 0;
  const std::string numbered = NumberedParameters(statement, parameters);
  std::string plan;
  std::set<std::string> partial;
  ASSERT_TRUE(db.WithSession([&](soci::session& sql) {
                  std::string name;
                  soci::statement partials =
                      (sql.prepare << "SELECT indexname FROM pg_indexes WHERE indexdef LIKE"
                                      " '% WHERE %'",
                       soci::into(name));
                  partials.execute();
                  while (partials.fetch()) partial.insert(name);
                  sql << "SET enable_seqscan = off";
                  sql << "SET enable_sort = off";
                  sql << "SET plan_cache_mode = force_generic_plan";
                  sql << "PREPARE plan_check AS " + numbered;
                  std::vector<std::string> nulls(parameters, "NULL");
                  std::string values =
                      parameters == 0 ? "" : absl::StrCat("(", absl::StrJoin(nulls, ", "), ")");
                  sql << "EXPLAIN (FORMAT JSON) EXECUTE plan_check" + values, soci::into(plan);
                  sql << "DEALLOCATE plan_check";
                  sql << "RESET enable_seqscan";
                  sql << "RESET enable_sort";
                  sql << "RESET plan_cache_mode";
                  return absl::OkStatus();
                }).ok())
      << numbered;
  google::protobuf::ListValue plans;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(plan, &plans).ok()) << plan;
  for (const google::protobuf::Value& top : plans.values()) {
    CheckPostgresNode(top.struct_value().fields().at("Plan").struct_value(), statement, big,
                      partial, plan);
  }
}

class RoutePlanTest : public ApiTest {
 protected:
  void CheckEveryGetRoute();
};

void RoutePlanTest::CheckEveryGetRoute() {
  absl::Mutex mutex;
  std::set<std::string> statements;
  bool recording = false;
  Build("http://127.0.0.1:8080", {}, [&](const std::string& statement) {
    absl::MutexLock lock(&mutex);
    if (recording) statements.insert(statement);
  });
  Caller admin = SignIn("admin");
  Caller alice = SignIn("alice");
  Caller bob = SignIn("bob");
  const Objects mine = MakeObjectsOf(alice);
  const Objects others = MakeObjectsOf(bob);
  const std::string alice_id = UserId("alice"), bob_id = UserId("bob");
  // The history of a busy fleet, straight into SQL.
  const long long now = absl::ToUnixMillis(clock_.Now());
  std::vector<std::string> servers;
  ASSERT_TRUE(
      db_->Transact([&](soci::session& sql) {
           RowBatch hosts(
               "INSERT INTO hosts (id, name, address, state, max_instances,"
               " port_first, port_last, installed_build, last_seen_ms,"
               " created_at_ms)",
               10);
           for (int h = 0; h < 50; ++h) {
             hosts.Add({absl::StrCat("h", h), absl::StrCat("host-", h), "10.0.0.1:7543", "ready",
                        int64_t{20}, int64_t{27015}, int64_t{27034}, "9000001", int64_t{now},
                        int64_t{now}});
           }
           hosts.Write(sql);
           RowBatch rows(
               "INSERT INTO servers (id, owner_id, name, blueprint_id, host_id,"
               " port, desired_state, actual_state, status, created_at_ms,"
               " updated_at_ms)",
               11);
           for (int i = 0; i < 800; ++i) {
             const bool hers = i % 2 == 0;
             servers.push_back(absl::StrCat("x", i));
             rows.Add({servers.back(), hers ? alice_id : bob_id, absl::StrFormat("srv-%04d", i),
                       hers ? mine.blueprint : others.blueprint, absl::StrCat("h", i % 50),
                       int64_t{27015 + i / 50}, i % 3 ? "running" : "stopped",
                       i % 3 ? "running" : "stopped", "", int64_t{now}, int64_t{now}});
           }
           rows.Write(sql);
           RowBatch jobs(
               "INSERT INTO jobs (id, kind, state, lock_key, params,"
               " max_attempts, not_before_ms, created_by, created_at_ms,"
               " finished_at_ms, owner_id)",
               11);
           RowBatch events("INSERT INTO job_events (job_id, seq, at_ms, kind, data)", 5);
           const char* kinds[] = {"server.start", "server.stop", "server.restart", "overlay.sync"};
           const char* states[] = {"succeeded", "failed", "cancelled"};
           for (int j = 0; j < 20000; ++j) {
             const std::string id = absl::StrFormat("%016x%08x", now * 1000 - 20000 + j, j);
             const std::string& server = servers[j % servers.size()];
             jobs.Add({id, kinds[j % 4], states[j % 3], "server:" + server, "{}", int64_t{5},
                       int64_t{now}, j % 2 ? "user:" + bob_id : "system", int64_t{now - 20000 + j},
                       int64_t{now - 20000 + j},
                       (j % servers.size()) % 2 == 0 ? alice_id : bob_id});
             if (j % 10 == 0) {
               events.Add({id, int64_t{1}, int64_t{now}, "log", "\"line\""});
               events.Add({id, int64_t{2}, int64_t{now}, "state", "\"done\""});
             }
           }
           jobs.Write(sql);
           events.Write(sql);
           RowBatch audit(
               "INSERT INTO audit_log (id, at_ms, actor_id, action, target,"
               " detail, owner_id)",
               7);
           for (int a = 0; a < 20000; ++a) {
             const bool hers = a % 2 == 0;
             audit.Add({absl::StrFormat("a%016x%08x", now * 1000 - 20000 + a, a),
                        int64_t{now - 20000 + a},
                        a % 3 == 0 ? "system" : (hers ? "user:" + alice_id : "user:" + bob_id),
                        "server.restart", servers[a % servers.size()], "{}",
                        hers ? alice_id : bob_id});
           }
           audit.Write(sql);
           RowBatch samples(
               "INSERT INTO metric_samples (server_id, at_ms, players,"
               " cpu_millis, memory_bytes, latency_us)",
               6);
           for (int t = 0; t < 8640; ++t) {
             samples.Add({servers[0], int64_t{now - 86400000 + t * 10000}, int64_t{t % 8},
                          int64_t{t * 100}, int64_t{1} << 30, int64_t{2000}});
           }
           samples.Write(sql);
           // Players: sessions, timelines, the players' rows and the servers' log cursors.
           RowBatch sessions(
               "INSERT INTO player_sessions (id, server_id, steam_id, user_id, name,"
               " joined_at_ms, left_at_ms, reason)",
               8);
           RowBatch timeline(
               "INSERT INTO player_events (id, server_id, at_ms, kind, steam_id, name, text)", 7);
           for (int p = 0; p < 20000; ++p) {
             const std::string steam = absl::StrCat(76561197960265728 + p % 2000);
             const std::string& server = servers[p % servers.size()];
             const int64_t joined = now - 86400000 + p * 4000;
             sessions.Add({absl::StrFormat("%016x%08x", joined * 1000, p), server, steam,
                           int64_t{p % 32}, absl::StrCat("player", p % 2000), joined,
                           int64_t{joined + 600000}, "Disconnect by user."});
             timeline.Add({absl::StrFormat("%016x%08x", joined * 1000, p), server, joined, "joined",
                           steam, absl::StrCat("player", p % 2000), ""});
           }
           sessions.Write(sql);
           timeline.Write(sql);
           RowBatch players(
               "INSERT INTO players (steam_id, name, name_key, first_seen_ms, last_seen_ms,"
               " sessions, seconds)",
               7);
           for (int p = 0; p < 2000; ++p) {
             players.Add({absl::StrCat(76561197960265728 + p), absl::StrCat("Player", p),
                          absl::StrCat("player", p), int64_t{now - 86400000}, int64_t{now},
                          int64_t{10}, int64_t{6000}});
           }
           players.Write(sql);
           RowBatch logs(
               "INSERT INTO server_game_logs (server_id, epoch, seq, map, update_required,"
               " players, sessions_started, updated_at_ms)",
               8);
           for (size_t i = 0; i < servers.size(); ++i) {
             logs.Add({servers[i], int64_t{1}, int64_t{25}, "c1m1_hotel", int64_t{i % 7 == 0},
                       int64_t(i % 4), int64_t{25}, int64_t{now}});
           }
           logs.Write(sql);
           // Backups: ten of each server's, a month's nightly ones of a few.
           RowBatch backups(
               "INSERT INTO backups (id, server_id, owner_id, host_id, instance, archive_id,"
               " created_at_ms, record)",
               8);
           for (int b = 0; b < 8000; ++b) {
             const size_t server = b % servers.size();
             backups.Add({absl::StrFormat("b%016x%08x", now * 1000 - 8000 + b, b), servers[server],
                          server % 2 == 0 ? alice_id : bob_id, absl::StrCat("h", server % 50),
                          absl::StrFormat("srv-%04d", server),
                          absl::StrFormat("20261204T000000Z-%08x", b), int64_t{now - 8000 + b},
                          "{}"});
           }
           backups.Write(sql);
           sql << "ANALYZE";
           return absl::OkStatus();
         })
          .ok());
  ASSERT_TRUE(stores_->metrics.Maintain().ok());
  const std::map<std::string, std::pair<std::string, std::string>> ids = {
      // collection: (the admin's view, the operator's own)
      {"servers", {servers[1], servers[0]}},
      {"jobs", {others.job, mine.job}},
      {"overlays", {others.overlay, mine.overlay}},
      {"blueprints", {others.blueprint, mine.blueprint}},
      {"tokens", {others.token, mine.token}},
      {"users", {bob_id, alice_id}},
      {"schedules", {others.schedule, mine.schedule}},
      {"webhooks", {others.webhook, mine.webhook}},
      {"backups", {others.backup, mine.backup}},
      {"hosts", {"h1", "h1"}}};
  const std::string week_ago =
      absl::FormatTime(absl::RFC3339_full, clock_.Now() - absl::Hours(150), absl::UTCTimeZone());
  const std::vector<std::string> filtered = {
      "/api/v1/servers?desired_state=running",
      "/api/v1/servers?actual_state=stopped",
      "/api/v1/servers?host_id=h3",
      "/api/v1/servers?blueprint_id=" + mine.blueprint,
      "/api/v1/servers?q=srv-01",
      "/api/v1/servers?limit=10&page_token=",
      "/api/v1/jobs?kind=server.stop",
      "/api/v1/jobs?state=failed",
      "/api/v1/jobs?kind=server.stop&state=failed",
      "/api/v1/jobs?server_id=" + servers[0],
      "/api/v1/jobs?limit=10&page_token=",
      "/api/v1/audit?actor=user:" + alice_id,
      "/api/v1/audit?action=server.",
      "/api/v1/audit?target=" + servers[0],
      "/api/v1/audit?limit=10&page_token=",
      "/api/v1/blueprints?q=v",
      "/api/v1/overlays?q=m",
      "/api/v1/users?role=operator",
      "/api/v1/users?q=a",
      "/api/v1/hosts?q=host-1",
      "/api/v1/servers/" + servers[0] + "/metrics?from=" + week_ago,
      "/api/v1/servers/" + servers[0] + "/metrics?max_points=100",
      "/api/v1/servers/" + servers[0] + "/sessions?from=" + week_ago,
      "/api/v1/servers/" + servers[0] + "/timeline?before=ffff&limit=10",
      "/api/v1/players?q=player1",
      "/api/v1/players?q=76561197960265730",
      "/api/v1/players/76561197960265730",
      "/api/v1/backups?server_id=" + servers[0],
      "/api/v1/backups?limit=10"};
  {
    absl::MutexLock lock(&mutex);
    recording = true;
  }
  int calls = 0;
  for (const auto& [caller, own] : {std::pair(admin, false), std::pair(alice, true)}) {
    std::vector<std::string> paths = filtered;
    for (const Route& route : server_->routes()) {
      if (route.method != "GET" || route.stream) continue;
      std::string path = route.path;
      if (absl::StrContains(path, "{id}")) {
        const absl::string_view rest = absl::StripPrefix(path, "/api/v1/");
        const auto& id = ids.at(std::string(rest.substr(0, rest.find('/'))));
        path = absl::StrReplaceAll(path, {{"{id}", own ? id.second : id.first}});
      }
      paths.push_back(path);
    }
    for (std::string path : paths) {
      if (absl::EndsWith(path, "page_token=")) {
        // The second page: the first one's token.
        const HttpResponse first = Call(caller, "GET", path.substr(0, path.find("&page_token")));
        const std::string token =
            Parse<google::protobuf::Struct>(first).fields().at("nextPageToken").string_value();
        ASSERT_FALSE(token.empty()) << path;
        path += token;
      }
      const HttpResponse response = Call(caller, "GET", path);
      // Routes that ask an agent answer 501-503 here: no agent runs.
      EXPECT_NE(response.status, 500) << path << ": " << response.body;
      ++calls;
    }
  }
  // The loops' statements: the scheduler claiming and ending jobs, the reconciler recording a
  // host's round, its samples, roll-ups and counts, host health, retention.
  absl::StatusOr<std::vector<Job>> claimed = stores_->jobs.Claim("w1", 10, absl::Seconds(30));
  ASSERT_TRUE(claimed.ok()) << claimed.status();
  ASSERT_FALSE(claimed->empty());
  ASSERT_TRUE(stores_->jobs.AppendEvent(claimed->front().id, "log", "\"line\"").ok());
  ASSERT_TRUE(stores_->jobs.RenewAll({claimed->front().id}, "w1", absl::Seconds(30)).ok());
  ASSERT_TRUE(stores_->jobs.Complete(claimed->front().id, "w1", "{}").ok());
  ASSERT_TRUE(
      stores_->servers
          .ObserveHosts(
              {{.host_id = "h3",
                .instances = {{.name = servers[3], .state = ServerState::kRunning, .players = 2}}}})
          .ok());
  ASSERT_TRUE(stores_->servers.HostsWithServers().ok());
  ASSERT_TRUE(stores_->hosts.MarkSeen({{"h3", clock_.Now()}}).ok());
  ASSERT_TRUE(stores_->metrics.Maintain().ok());
  ASSERT_TRUE(FoldJobCounts(*db_).ok());
  ASSERT_TRUE(SamplePlayers(*db_, clock_.Now(), clock_.Now() - absl::Hours(24)).ok());
  // The player feed recording an agent's answer, the event streams' tail.
  {
    agent::v1::ListPlayerEventsResponse answer;
    answer.set_epoch(1);
    agent::v1::PlayerEvent* joined = answer.add_events();
    joined->set_seq(26);
    joined->set_kind(agent::v1::PlayerEvent::KIND_JOINED);
    joined->mutable_player()->set_steam_id64(76561197960265731u);
    joined->mutable_player()->set_name("Ellis");
    agent::v1::PlayerEvent* left = answer.add_events();
    left->set_seq(27);
    left->set_kind(agent::v1::PlayerEvent::KIND_LEFT);
    left->mutable_player()->set_steam_id64(76561197960265731u);
    ASSERT_TRUE(stores_->players.Record(servers[3], {1, 25}, answer).ok());
    ASSERT_TRUE(stores_->players.EventsAfter("", 100).ok());
    ASSERT_TRUE(stores_->players.LastEventId().ok());
  }
  clock_.Advance(absl::Hours(24 * 400));  // everything seeded is due
  Retention retention(*db_, clock_, {.batch = 100});
  ASSERT_TRUE(retention.Prune().ok());
  {
    absl::MutexLock lock(&mutex);
    recording = false;
  }
  EXPECT_GT(calls, 60);
  // Tables that grow with the fleet and its history; the others hold a few rows per user.
  const std::set<std::string> big = {"servers",        "hosts",          "jobs",
                                     "job_events",     "audit_log",      "metric_samples",
                                     "metric_rollups", "player_samples", "player_sessions",
                                     "player_events",  "players",        "server_game_logs"};
  int checked = 0;
  const bool postgres = db_->backend() == DatabaseBackend::kPostgresql;
  for (const std::string& statement : statements) {
    if (!absl::StartsWith(statement, "SELECT") && !absl::StartsWith(statement, "UPDATE") &&
        !absl::StartsWith(statement, "DELETE")) {
      continue;
    }
    ++checked;
    if (postgres) {
      CheckPostgresPlan(*db_, statement, big);
    } else {
      CheckSqlitePlan(*db_, statement, big);
    }
  }
  std::cout << checked << " distinct statements of " << calls << " calls checked\n";
  EXPECT_GT(checked, 30);
}

TEST_F(RoutePlanTest, EveryStatementOfEveryGetRouteAndLoopIsServedByAnIndex) {
  CheckEveryGetRoute();
}

// The same on PostgreSQL (tests/pg/start), its planner told to avoid sequential scans and
// sorts at any cost: one left in a plan is one that no index avoids.
class PgPlans : public RoutePlanTest {
 protected:
  void SetUp() override {
    if (PostgresConninfo().empty()) {
      GTEST_SKIP() << "L4D2_TEST_POSTGRES is not set (tests/pg/start sets it)";
    }
    database_ = absl::StrCat("l4d2_plans_", getpid());
    soci::session admin(soci::postgresql, PostgresConninfo() + " dbname=postgres");
    admin << "DROP DATABASE IF EXISTS " << database_;
    admin << "CREATE DATABASE " << database_;
    database_url_ = absl::StrCat("postgresql:", PostgresConninfo(), " dbname=", database_);
    ApiTest::SetUp();
  }
  void TearDown() override {
    ApiTest::TearDown();
    db_.reset();
    if (database_.empty()) return;
    soci::session admin(soci::postgresql, PostgresConninfo() + " dbname=postgres");
    admin << "DROP DATABASE IF EXISTS " << database_;
  }
  std::string database_;
};

TEST_F(PgPlans, EveryStatementOfEveryGetRouteAndLoopIsServedByAnIndex) { CheckEveryGetRoute(); }

}  // namespace
}  // namespace l4d2::controller
