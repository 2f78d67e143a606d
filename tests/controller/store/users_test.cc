// The user store's contract on SQLite and PostgreSQL (tests/controller/store/backend_test.h).

#include "controller/store/users.h"

#include "controller/store/migrations.h"
#include "gmock/gmock.h"
#include "tests/controller/store/backend_test.h"

namespace l4d2::controller {
namespace {

class UserStoreTest : public BackendTest {
 protected:
  void SetUp() override {
    BackendTest::SetUp();
    if (IsSkipped()) return;
    ASSERT_TRUE(ApplyMigrations(*db_, ControllerMigrations(), clock_).ok());
    users_ = std::make_unique<UserStore>(*db_, clock_, PasswordCost::Minimal());
  }
  std::unique_ptr<UserStore> users_;
};

TEST_P(UserStoreTest, CreatesAuthenticatesAndRefusesDuplicates) {
  absl::StatusOr<User> admin = users_->Create("root", "a long admin password", Role::kAdmin);
  ASSERT_TRUE(admin.ok()) << admin.status();
  EXPECT_EQ(admin->role, Role::kAdmin);
  EXPECT_EQ(*users_->CountAdmins(), 1);
  ASSERT_TRUE(users_->Create("alice", "alice's own password", Role::kOperator).ok());
  EXPECT_EQ(*users_->CountAdmins(), 1);
  EXPECT_EQ(users_->Create("root", "another long password", Role::kAdmin).status().code(),
            absl::StatusCode::kAlreadyExists);

  absl::StatusOr<User> in = users_->Authenticate("root", "a long admin password");
  ASSERT_TRUE(in.ok()) << in.status();
  EXPECT_EQ(in->id, admin->id);
  EXPECT_EQ(users_->Get(admin->id)->username, "root");
  // Unknown user and wrong password look the same.
  absl::Status wrong = users_->Authenticate("root", "a long admin passwore").status();
  absl::Status unknown = users_->Authenticate("nobody", "a long admin password").status();
  EXPECT_EQ(wrong.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(unknown.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(wrong.message(), unknown.message());
  EXPECT_EQ(users_->Get("u0").status().code(), absl::StatusCode::kNotFound);
}

TEST_P(UserStoreTest, BadNamesAndPasswordsChangeNothing) {
  for (const char* name :
       {"", "Root", "-x", "a b", "x'; DROP TABLE users; --", "abcdefghijklmnopqrstuvwxyz0123456"}) {
    EXPECT_EQ(users_->Create(name, "a long enough password", Role::kAdmin).status().code(),
              absl::StatusCode::kInvalidArgument)
        << name;
  }
  EXPECT_EQ(users_->Create("root", "short", Role::kAdmin).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(*users_->CountAdmins(), 0);
}

L4D2_INSTANTIATE_BACKEND_TEST(UserStoreTest);

}  // namespace
}  // namespace l4d2::controller
