#pragma once

// A test fixture parameterized over the controller's database backends: SQLite always, and
// PostgreSQL when L4D2_TEST_POSTGRES holds a libpq conninfo of a server where the test may
// create databases (tests/pg/start sets it; ctest runs those cases under the `pg` label, and
// the cases' names end in /Postgres). Each test gets a fresh database.

#include <unistd.h>

#include <cstdlib>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "controller/store/database.h"
#include "controller/store/fleet_stores.h"
#include "controller/store/migrations.h"
#include "controller/store/users.h"
#include "gtest/gtest.h"
#include "soci/postgresql/soci-postgresql.h"
#include "soci/soci.h"
#include "tests/fakes/fake_clock.h"
#include "tests/testing/temp_dir.h"

namespace l4d2::controller {

enum class Backend { kSqlite, kPostgres };

inline std::string PostgresConninfo() {
  const char* conninfo = std::getenv("L4D2_TEST_POSTGRES");
  return conninfo != nullptr ? conninfo : "";
}

class BackendTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    if (GetParam() == Backend::kSqlite) {
      url_ = "sqlite3:" + dir_.Sub("test.db");
    } else {
      if (PostgresConninfo().empty()) {
        GTEST_SKIP() << "L4D2_TEST_POSTGRES is not set (tests/pg/start sets it)";
      }
      // A database of its own per test.
      static int counter = 0;
      database_name_ = absl::StrCat("l4d2_test_", getpid(), "_", ++counter);
      soci::session admin(soci::postgresql, PostgresConninfo() + " dbname=postgres");
      admin << "CREATE DATABASE " << database_name_;
      url_ = absl::StrCat("postgresql:", PostgresConninfo(), " dbname=", database_name_);
    }
    absl::StatusOr<std::unique_ptr<Database>> db = Database::Open({.url = url_, .pool_size = 4});
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = *std::move(db);
  }

  void TearDown() override {
    db_.reset();
    if (!database_name_.empty()) {
      soci::session admin(soci::postgresql, PostgresConninfo() + " dbname=postgres");
      admin << "DROP DATABASE IF EXISTS " << database_name_;
    }
  }

  int64_t Count(const std::string& table) {
    int64_t count = -1;
    EXPECT_TRUE(db_->WithSession([&](soci::session& sql) {
                     long long n = 0;
                     sql << "SELECT COUNT(*) FROM " << table, soci::into(n);
                     count = n;
                     return absl::OkStatus();
                   })
                    .ok());
    return count;
  }

  ::l4d2::testing::TempDir dir_;
  std::string url_;
  std::string database_name_;
  std::unique_ptr<Database> db_;
  ::l4d2::testing::FakeClock clock_;
};

// The controller's schema migrated on the backend, its stores, and users made on it.
class FleetBackendTest : public BackendTest {
 protected:
  void SetUp() override {
    BackendTest::SetUp();
    if (IsSkipped()) return;
    ASSERT_TRUE(ApplyMigrations(*db_, ControllerMigrations(), clock_).ok());
    stores_ = std::make_unique<FleetStores>(*db_, clock_);
  }

  // A new user (with the cheapest password hashing) as the actor they act as.
  Actor NewUser(const std::string& name, Role role = Role::kOperator) {
    UserStore users(*db_, clock_, PasswordCost::Minimal());
    absl::StatusOr<User> user = users.Create(name, "correct horse battery", role);
    EXPECT_TRUE(user.ok()) << user.status();
    const std::string id = user.ok() ? user->id : "";
    return role == Role::kAdmin ? Actor::Admin(id) : Actor::Operator(id);
  }

  std::unique_ptr<FleetStores> stores_;
};

// Instantiates `suite` (derived from BackendTest) for both backends, named Sqlite and Postgres.
#define L4D2_INSTANTIATE_BACKEND_TEST(suite)                                                \
  INSTANTIATE_TEST_SUITE_P(Backends, suite,                                                 \
                           ::testing::Values(Backend::kSqlite, Backend::kPostgres),         \
                           [](const ::testing::TestParamInfo<Backend>& info) {              \
                             return info.param == Backend::kSqlite ? "Sqlite" : "Postgres"; \
                           })

}  // namespace l4d2::controller
