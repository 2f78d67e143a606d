// Sessions, API tokens and user changes on SQLite and PostgreSQL
// (tests/controller/store/backend_test.h); with the audit log's and the job queue's lists the
// HTTP API reads.

#include "controller/store/api_tokens.h"
#include "controller/store/audit_log.h"
#include "controller/store/job_queue.h"
#include "controller/store/migrations.h"
#include "controller/store/sessions.h"
#include "controller/store/users.h"
#include "gmock/gmock.h"
#include "tests/controller/store/backend_test.h"

namespace l4d2::controller {
namespace {

class CredentialsTest : public BackendTest {
 protected:
  void SetUp() override {
    BackendTest::SetUp();
    if (IsSkipped()) return;
    ASSERT_TRUE(ApplyMigrations(*db_, ControllerMigrations(), clock_).ok());
    users_ = std::make_unique<UserStore>(*db_, clock_, PasswordCost::Minimal());
    sessions_ = std::make_unique<SessionStore>(
        *db_, clock_, SessionLimits{.idle = absl::Minutes(30), .lifetime = absl::Hours(2)});
    tokens_ = std::make_unique<ApiTokenStore>(*db_, clock_);
    auto admin = users_->Create("root", "a long admin password", Role::kAdmin);
    auto alice = users_->Create("alice", "alice's own password", Role::kOperator);
    ASSERT_TRUE(admin.ok() && alice.ok());
    admin_ = admin->id;
    alice_ = alice->id;
  }
  void TearDown() override {
    tokens_.reset();
    sessions_.reset();
    users_.reset();
    BackendTest::TearDown();
  }

  std::unique_ptr<UserStore> users_;
  std::unique_ptr<SessionStore> sessions_;
  std::unique_ptr<ApiTokenStore> tokens_;
  std::string admin_, alice_;
};

TEST_P(CredentialsTest, SessionsResumeUntilIdleOrExpiredAndEnd) {
  absl::StatusOr<NewSession> made = sessions_->Create(alice_);
  ASSERT_TRUE(made.ok()) << made.status();
  EXPECT_EQ(made->secret.size(), 64u);
  EXPECT_NE(made->secret, made->session.csrf_token);
  absl::StatusOr<Session> resumed = sessions_->Resume(made->secret);
  ASSERT_TRUE(resumed.ok());
  EXPECT_EQ(resumed->user_id, alice_);
  EXPECT_EQ(resumed->csrf_token, made->session.csrf_token);
  EXPECT_EQ(sessions_->Resume("nothing").status().code(), absl::StatusCode::kUnauthenticated);
  // Busy sessions stay; idle ones end; none outlives its lifetime.
  for (int i = 0; i < 3; ++i) {
    clock_.Advance(absl::Minutes(25));
    ASSERT_TRUE(sessions_->Resume(made->secret).ok()) << i;
  }
  clock_.Advance(absl::Minutes(31));
  EXPECT_EQ(sessions_->Resume(made->secret).status().code(), absl::StatusCode::kUnauthenticated);
  absl::StatusOr<NewSession> busy = sessions_->Create(alice_);
  for (int i = 0; i < 5; ++i) {
    clock_.Advance(absl::Minutes(25));
    (void)sessions_->Resume(busy->secret);
  }
  EXPECT_FALSE(sessions_->Resume(busy->secret).ok());
  // End one, end all of a user, prune the dead.
  absl::StatusOr<NewSession> a = sessions_->Create(alice_);
  absl::StatusOr<NewSession> b = sessions_->Create(alice_);
  absl::StatusOr<NewSession> root = sessions_->Create(admin_);
  ASSERT_TRUE(sessions_->End(a->secret).ok());
  ASSERT_TRUE(sessions_->End(a->secret).ok());
  EXPECT_FALSE(sessions_->Resume(a->secret).ok());
  EXPECT_EQ(*sessions_->EndAllOf(alice_), 1);
  EXPECT_FALSE(sessions_->Resume(b->secret).ok());
  EXPECT_TRUE(sessions_->Resume(root->secret).ok());
  clock_.Advance(absl::Hours(3));
  EXPECT_EQ(*sessions_->Prune(), 1);
}

TEST_P(CredentialsTest, ADisabledUsersSessionsAndTokensStopWorking) {
  absl::StatusOr<NewSession> session = sessions_->Create(alice_);
  std::string secret;
  ASSERT_TRUE(tokens_->Create(Actor::Operator(alice_), "ci", {"write"}, &secret).ok());
  ASSERT_TRUE(users_->Update(alice_, Role::kOperator, true).ok());
  EXPECT_FALSE(sessions_->Resume(session->secret).ok());
  EXPECT_EQ(tokens_->Authenticate(secret).status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(users_->Authenticate("alice", "alice's own password").status().code(),
            absl::StatusCode::kUnauthenticated);
  // The last enabled admin stays one.
  EXPECT_EQ(users_->Update(admin_, Role::kOperator, false).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(users_->Update(admin_, Role::kAdmin, true).status().code(),
            absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE(users_->Update(alice_, Role::kAdmin, false).ok());
  EXPECT_TRUE(users_->Update(admin_, Role::kOperator, false).ok());
  ASSERT_TRUE(users_->SetPassword(alice_, "a brand new password").ok());
  EXPECT_TRUE(users_->Authenticate("alice", "a brand new password").ok());
  EXPECT_EQ(users_->SetPassword("u0", "a brand new password").code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(users_->SetPassword(alice_, "short").code(), absl::StatusCode::kInvalidArgument);
  absl::StatusOr<std::vector<User>> all = users_->List();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].username, "alice");
}

TEST_P(CredentialsTest, TokensAreHashedScopedListedAndRevoked) {
  std::string secret;
  absl::StatusOr<ApiToken> token =
      tokens_->Create(Actor::Operator(alice_), "deploy", {"read"}, &secret);
  ASSERT_TRUE(token.ok()) << token.status();
  EXPECT_THAT(secret, ::testing::StartsWith("l4d2_"));
  EXPECT_EQ(secret.size(), 53u);
  std::string stored;
  ASSERT_TRUE(db_->WithSession([&](soci::session& sql) {
                   sql << "SELECT token_hash FROM api_tokens", soci::into(stored);
                   return absl::OkStatus();
                 })
                  .ok());
  EXPECT_THAT(stored, ::testing::Not(::testing::HasSubstr(secret.substr(5))));
  absl::StatusOr<ApiToken> found = tokens_->Authenticate(secret);
  ASSERT_TRUE(found.ok());
  EXPECT_TRUE(found->Allows(TokenScope::kRead));
  EXPECT_FALSE(found->Allows(TokenScope::kWrite));
  EXPECT_TRUE(found->last_used.has_value());
  std::string other;
  ASSERT_TRUE(tokens_->Create(Actor::Admin(admin_), "root's", {}, &other).ok());
  EXPECT_EQ(tokens_->List(Actor::Operator(alice_))->size(), 1u);
  EXPECT_EQ(tokens_->List(Actor::Admin(admin_))->size(), 2u);
  // Another operator's token is not there to revoke.
  absl::StatusOr<User> bob = users_->Create("bob", "bob's long password", Role::kOperator);
  EXPECT_EQ(tokens_->Revoke(Actor::Operator(bob->id), token->id).status().code(),
            absl::StatusCode::kNotFound);
  ASSERT_TRUE(tokens_->Revoke(Actor::Operator(alice_), token->id).ok());
  ASSERT_TRUE(tokens_->Revoke(Actor::Operator(alice_), token->id).ok());
  EXPECT_FALSE(tokens_->Authenticate(secret).ok());
  EXPECT_TRUE(tokens_->List(Actor::Operator(alice_))->front().revoked_at.has_value());
  for (const std::string& bad : {std::string(), std::string(65, 'x')}) {
    EXPECT_EQ(tokens_->Create(Actor::Operator(alice_), bad, {}, &other).status().code(),
              absl::StatusCode::kInvalidArgument);
  }
  EXPECT_EQ(tokens_->Create(Actor::Operator(alice_), "x", {"admin"}, &other).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_P(CredentialsTest, AuditAndJobListsPageAndShowOperatorsTheirOwn) {
  AuditLog audit(*db_, clock_);
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(audit.Append("user:" + alice_, "thing.change", "x", "{}", alice_).ok());
    ASSERT_TRUE(audit.Append("system", "server.crash_loop", "s", "{}", alice_).ok());
    ASSERT_TRUE(audit.Append("user:" + admin_, "host.create", "h").ok());
  }
  absl::StatusOr<std::vector<AuditEntry>> mine = audit.List({.visible_to = alice_, .limit = 100});
  ASSERT_TRUE(mine.ok());
  EXPECT_EQ(mine->size(), 10u);
  absl::StatusOr<std::vector<AuditEntry>> page = audit.List({.limit = 4});
  absl::StatusOr<std::vector<AuditEntry>> next =
      audit.List({.before_id = page->back().id, .limit = 100});
  EXPECT_EQ(page->size() + next->size(), 15u);
  EXPECT_GT(page->back().id, next->front().id);
  absl::StatusOr<std::vector<AuditEntry>> forward =
      audit.List({.after_id = next->back().id, .limit = 100});
  EXPECT_EQ(forward->size(), 14u);
  EXPECT_LT(forward->front().id, forward->back().id);

  JobQueue jobs(*db_, clock_);
  ASSERT_TRUE(
      jobs.Enqueue({.kind = "host.install", .params = "{}", .created_by = "user:" + admin_}).ok());
  ASSERT_TRUE(jobs.Enqueue({.kind = "server.start",
                            .lock_key = "server:s1",
                            .params = "{}",
                            .created_by = "user:" + alice_})
                  .ok());
  EXPECT_EQ(jobs.List({})->size(), 2u);
  EXPECT_EQ(jobs.List({.visible_to = alice_})->size(), 1u);
  EXPECT_EQ(jobs.List({.kind = "host.install"})->size(), 1u);
  EXPECT_EQ(jobs.List({.state = JobState::kRunning})->size(), 0u);
  EXPECT_EQ(jobs.List({.lock_key = "server:s1"})->size(), 1u);
  absl::StatusOr<std::vector<Job>> newest = jobs.List({.limit = 1});
  EXPECT_EQ(newest->front().kind, "server.start");
  EXPECT_EQ(jobs.List({.before_id = newest->front().id})->front().kind, "host.install");
}

L4D2_INSTANTIATE_BACKEND_TEST(CredentialsTest);

}  // namespace
}  // namespace l4d2::controller
