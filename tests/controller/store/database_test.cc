// The storage contract, run against SQLite always and against PostgreSQL when
// L4D2_TEST_POSTGRES holds a libpq conninfo of a server where the test may create databases
// (tests/pg/start sets it; ctest runs those cases under the `pg` label).

#include "controller/store/database.h"

#include <cstdlib>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "common/clock.h"
#include "controller/store/migrations.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "soci/postgresql/soci-postgresql.h"
#include "soci/soci.h"
#include "tests/controller/store/backend_test.h"
#include "tests/fakes/fake_clock.h"
#include "tests/testing/temp_dir.h"

namespace l4d2::controller {
namespace {

using ::l4d2::testing::FakeClock;
using ::l4d2::testing::TempDir;
using ::testing::HasSubstr;

using DatabaseContractTest = BackendTest;

TEST_P(DatabaseContractTest, OpensAndAnswers) {
  EXPECT_TRUE(db_->Ping().ok());
  EXPECT_STREQ(db_->backend_name(), GetParam() == Backend::kSqlite ? "sqlite3" : "postgresql");
}

TEST_P(DatabaseContractTest, MigrationsApplyOnceAndRecordTheirVersion) {
  EXPECT_EQ(*SchemaVersion(*db_), 0);
  ASSERT_TRUE(ApplyMigrations(*db_, ControllerMigrations(), clock_).ok());
  const int64_t newest = ControllerMigrations().back().version;
  EXPECT_EQ(*SchemaVersion(*db_), newest);
  ASSERT_TRUE(ApplyMigrations(*db_, ControllerMigrations(), clock_).ok());
  EXPECT_EQ(Count("schema_migrations"), static_cast<int64_t>(ControllerMigrations().size()));
  EXPECT_EQ(Count("settings"), 0);
}

TEST_P(DatabaseContractTest, AFailingMigrationLeavesNothingBehind) {
  std::vector<Migration> migrations = {
      {1, "good", {"CREATE TABLE a (id BIGINT PRIMARY KEY)"}},
      {2, "bad", {"CREATE TABLE b (id BIGINT PRIMARY KEY)", "THIS IS NOT SQL"}},
  };
  EXPECT_FALSE(ApplyMigrations(*db_, migrations, clock_).ok());
  EXPECT_EQ(*SchemaVersion(*db_), 1);
  // Table b was rolled back with its migration; a corrected migration 2 applies cleanly.
  migrations[1].statements = {"CREATE TABLE b (id BIGINT PRIMARY KEY)"};
  EXPECT_TRUE(ApplyMigrations(*db_, migrations, clock_).ok());
  EXPECT_EQ(*SchemaVersion(*db_), 2);
}

TEST_P(DatabaseContractTest, ANewerSchemaIsRefused) {
  ASSERT_TRUE(ApplyMigrations(*db_, ControllerMigrations(), clock_).ok());
  std::vector<Migration> older = {ControllerMigrations().front()};
  ASSERT_TRUE(db_->WithSession([](soci::session& sql) {
                   sql << "INSERT INTO schema_migrations VALUES (999, 'future', 0)";
                   return absl::OkStatus();
                 })
                  .ok());
  absl::Status status = ApplyMigrations(*db_, older, clock_);
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(status.message(), HasSubstr("newer than this controller knows"));
}

TEST_P(DatabaseContractTest, TransactionsCommitOrRollBack) {
  ASSERT_TRUE(db_->WithSession([](soci::session& sql) {
                   sql << "CREATE TABLE t (id BIGINT PRIMARY KEY, name TEXT NOT NULL)";
                   return absl::OkStatus();
                 })
                  .ok());
  EXPECT_TRUE(db_->Transact([](soci::session& sql) {
                   long long id = 1;
                   std::string name = "kept";
                   sql << "INSERT INTO t (id, name) VALUES (:id, :name)", soci::use(id),
                       soci::use(name);
                   return absl::OkStatus();
                 })
                  .ok());
  absl::Status refused = db_->Transact([](soci::session& sql) {
    sql << "INSERT INTO t (id, name) VALUES (2, 'dropped')";
    return absl::AbortedError("changed my mind");
  });
  EXPECT_EQ(refused.code(), absl::StatusCode::kAborted);
  absl::Status thrown = db_->Transact([](soci::session& sql) {
    sql << "INSERT INTO t (id, name) VALUES (3, 'dropped')";
    sql << "INSERT INTO t (id, name) VALUES (1, 'duplicate key')";
    return absl::OkStatus();
  });
  EXPECT_EQ(thrown.code(), absl::StatusCode::kInternal);
  EXPECT_EQ(Count("t"), 1);
}

TEST_P(DatabaseContractTest, ValuesAreBoundNotSpliced) {
  ASSERT_TRUE(db_->WithSession([](soci::session& sql) {
                   sql << "CREATE TABLE t (name TEXT NOT NULL)";
                   std::string hostile = "x'); DROP TABLE t; --";
                   sql << "INSERT INTO t (name) VALUES (:n)", soci::use(hostile);
                   return absl::OkStatus();
                 })
                  .ok());
  EXPECT_EQ(Count("t"), 1);
}

TEST_P(DatabaseContractTest, ConcurrentWritersAllLand) {
  ASSERT_TRUE(db_->WithSession([](soci::session& sql) {
                   sql << "CREATE TABLE w (id BIGINT PRIMARY KEY)";
                   return absl::OkStatus();
                 })
                  .ok());
  std::vector<std::thread> writers;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t) {
    writers.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        absl::Status status = db_->Transact([&](soci::session& sql) {
          long long id = t * 1000 + i;
          sql << "INSERT INTO w (id) VALUES (:id)", soci::use(id);
          return absl::OkStatus();
        });
        if (!status.ok()) ++failures;
      }
    });
  }
  for (std::thread& writer : writers) writer.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(Count("w"), 200);
}

TEST_P(DatabaseContractTest, ForeignKeysAreEnforcedOnEverySession) {
  ASSERT_TRUE(db_->WithSession([](soci::session& sql) {
                   sql << "CREATE TABLE parent (id BIGINT PRIMARY KEY)";
                   sql << "CREATE TABLE child (id BIGINT PRIMARY KEY, parent_id BIGINT NOT NULL "
                          "REFERENCES parent(id))";
                   return absl::OkStatus();
                 })
                  .ok());
  // Hold several sessions at once so that every pooled connection is exercised.
  std::vector<std::thread> threads;
  std::atomic<int> rejected{0};
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&, i] {
      absl::Status status = db_->WithSession([&](soci::session& sql) {
        long long id = i;
        sql << "INSERT INTO child (id, parent_id) VALUES (:id, 42)", soci::use(id);
        return absl::OkStatus();
      });
      if (!status.ok()) ++rejected;
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(rejected.load(), 4);
}

L4D2_INSTANTIATE_BACKEND_TEST(DatabaseContractTest);

TEST(DatabaseOpenTest, RejectsUnknownSchemesAndSqliteInMemory) {
  EXPECT_EQ(Database::Open({.url = "mysql://x"}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Database::Open({.url = "sqlite3::memory:"}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(DatabaseOpenTest, AnUnreachablePostgresIsUnavailableAndTheUrlIsNotEchoed) {
  absl::StatusOr<std::unique_ptr<Database>> db = Database::Open(
      {.url = "postgresql:host=127.0.0.1 port=1 user=u password=hunter2 connect_timeout=2"});
  EXPECT_EQ(db.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(db.status().message(), ::testing::Not(HasSubstr("hunter2")));
}

TEST(DatabaseOpenTest, SqliteSessionsUseWal) {
  TempDir dir;
  auto db = Database::Open({.url = "sqlite3:" + dir.Sub("wal.db")});
  ASSERT_TRUE(db.ok());
  std::string mode;
  ASSERT_TRUE((*db)
                  ->WithSession([&](soci::session& sql) {
                    sql << "PRAGMA journal_mode", soci::into(mode);
                    return absl::OkStatus();
                  })
                  .ok());
  EXPECT_EQ(mode, "wal");
}

// Issue Scale: what /metrics and the lists ask by kind and state is read from an index, not by
// scanning (and sorting) every job or server. SQLite's own query plans, on the migrated schema.
// Two handles on one file are two processes to SQLite (the controller and `admin create`): a
// transaction that reads and then writes while the other holds the write lock waits for it
// (BEGIN IMMEDIATE) instead of failing "database is locked" at its write.
TEST(DatabaseOpenTest, SqliteWritersOfTwoProcessesWaitForEachOther) {
  TempDir dir;
  const std::string url = "sqlite3:" + dir.Sub("two.db");
  auto first = Database::Open({.url = url});
  auto second = Database::Open({.url = url});
  ASSERT_TRUE(first.ok() && second.ok());
  ASSERT_TRUE((*first)
                  ->WithSession([](soci::session& sql) {
                    sql << "CREATE TABLE t (id BIGINT PRIMARY KEY)";
                    return absl::OkStatus();
                  })
                  .ok());
  absl::Notification holding;
  std::thread holder([&] {
    EXPECT_TRUE((*first)
                    ->Transact([&](soci::session& sql) {
                      sql << "INSERT INTO t (id) VALUES (1)";
                      holding.Notify();
                      absl::SleepFor(absl::Milliseconds(300));
                      return absl::OkStatus();
                    })
                    .ok());
  });
  holding.WaitForNotification();
  long long count = -1;
  absl::Status status = (*second)->Transact([&](soci::session& sql) {
    sql << "SELECT COUNT(*) FROM t", soci::into(count);
    long long next = count + 1;
    sql << "INSERT INTO t (id) VALUES (:id)", soci::use(next);
    return absl::OkStatus();
  });
  holder.join();
  EXPECT_TRUE(status.ok()) << status;
  EXPECT_EQ(count, 1);  // it began after the other committed
}

TEST(QueryPlanTest, CountsAndStateFiltersAreServedByIndexes) {
  TempDir dir;
  FakeClock clock;
  absl::StatusOr<std::unique_ptr<Database>> db =
      Database::Open({.url = "sqlite3:" + dir.Sub("plans.db")});
  ASSERT_TRUE(db.ok());
  ASSERT_TRUE(ApplyMigrations(**db, ControllerMigrations(), clock).ok());
  auto plan = [&](const std::string& query) {
    std::string steps;
    EXPECT_TRUE((*db)
                    ->WithSession([&](soci::session& sql) {
                      std::string detail;
                      int id = 0, parent = 0, unused = 0;
                      soci::statement rows =
                          (sql.prepare << "EXPLAIN QUERY PLAN " << query, soci::into(id),
                           soci::into(parent), soci::into(unused), soci::into(detail));
                      rows.execute();
                      while (rows.fetch()) steps += detail + "\n";
                      return absl::OkStatus();
                    })
                    .ok());
    return steps;
  };
  for (const auto& [query, index] : std::vector<std::pair<std::string, std::string>>{
           // /metrics and the dashboard: jobs by kind and state.
           {"SELECT kind, state, COUNT(*) FROM jobs GROUP BY kind, state",
            "COVERING INDEX jobs_by_kind_state"},
           // GET /jobs?kind=: a page of one kind's jobs, newest first.
           {"SELECT id, id, revision FROM jobs WHERE 1 = 1 AND kind = 'server.start'"
            " ORDER BY id DESC LIMIT 50",
            "COVERING INDEX jobs_by_kind"},
           // GET /servers?desired_state= and ?actual_state=: a page in name order.
           {"SELECT id, name, revision FROM servers WHERE 1 = 1 AND desired_state = 'running'"
            " ORDER BY name LIMIT 50",
            "COVERING INDEX servers_by_desired"},
           {"SELECT id, name, revision FROM servers WHERE 1 = 1 AND actual_state = 'crashed'"
            " ORDER BY name LIMIT 50",
            "COVERING INDEX servers_by_actual"},
       }) {
    const std::string steps = plan(query);
    EXPECT_THAT(steps, HasSubstr(index)) << query;
    EXPECT_THAT(steps, ::testing::Not(HasSubstr("TEMP B-TREE"))) << query;
  }
}

}  // namespace
}  // namespace l4d2::controller
