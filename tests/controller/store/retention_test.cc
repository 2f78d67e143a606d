// Issue Scale: history is pruned by its policy, in batches, on SQLite and PostgreSQL; what is
// pruned is exported first when asked; running and queued jobs and recent history stay.

#include "controller/store/retention.h"

#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "controller/store/leases.h"
#include "controller/store/migrations.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/controller/store/backend_test.h"

namespace l4d2::controller {
namespace {

using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;

class RetentionTest : public BackendTest {
 protected:
  void SetUp() override {
    BackendTest::SetUp();
    if (IsSkipped()) return;
    ASSERT_TRUE(ApplyMigrations(*db_, ControllerMigrations(), clock_).ok());
  }

  // A job in `state`, finished `age` ago (never, for queued and running ones), with `events`.
  void Job(const std::string& id, const std::string& state, absl::Duration age, int events = 0) {
    const int64_t finished = absl::ToUnixMillis(clock_.Now() - age);
    Exec(absl::StrCat(
        "INSERT INTO jobs (id, kind, state, params, max_attempts, not_before_ms,"
        " created_by, created_at_ms, finished_at_ms) VALUES ('",
        id, "', 'server.start', '", state, "', '{}', 5, 0, 'user:u1', ", finished - 1000, ", ",
        state == "queued" || state == "running" ? "NULL" : std::to_string(finished), ")"));
    for (int seq = 1; seq <= events; ++seq) {
      Exec(absl::StrCat("INSERT INTO job_events (job_id, seq, at_ms, kind, data) VALUES ('", id,
                        "', ", seq, ", ", finished, ", 'log', '\"line ", seq, "\"')"));
    }
  }

  void Audit(const std::string& id, absl::Duration age, bool system = false) {
    Exec(
        absl::StrCat("INSERT INTO audit_log (id, at_ms, actor_id, action, target, detail)"
                     " VALUES ('",
                     id, "', ", absl::ToUnixMillis(clock_.Now() - age), ", ",
                     system ? "NULL" : "'u1'", ", 'server.start', 's1', '{}')"));
  }

  void Exec(const std::string& statement) {
    ASSERT_TRUE(db_->WithSession([&](soci::session& sql) {
                     sql << statement;
                     return absl::OkStatus();
                   })
                    .ok())
        << statement;
  }

  std::vector<std::string> Ids(const std::string& table) {
    std::vector<std::string> ids;
    EXPECT_TRUE(db_->WithSession([&](soci::session& sql) {
                     std::string id;
                     soci::statement rows =
                         (sql.prepare << "SELECT id FROM " << table, soci::into(id));
                     rows.execute();
                     while (rows.fetch()) ids.push_back(id);
                     return absl::OkStatus();
                   })
                    .ok());
    return ids;
  }

  static std::vector<std::string> Lines(const std::string& path) {
    std::ifstream in(path);
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
  }
};

TEST_P(RetentionTest, PrunesWhatIsDueInBatchesAndExportsItFirst) {
  const absl::Duration day = absl::Hours(24);
  Job("j-old-ok", "succeeded", 40 * day, 3);
  Job("j-old-cancelled", "cancelled", 31 * day);
  Job("j-recent-ok", "succeeded", 10 * day, 2);
  Job("j-failed", "failed", 40 * day, 1);  // failed jobs are kept 90 days
  Job("j-old-failed", "failed", 100 * day);
  Job("j-running", "running", 200 * day, 1);
  Job("j-queued", "queued", 200 * day);
  for (int i = 0; i < 5; ++i) Audit(absl::StrCat("a-old-", i), 400 * day, /*system=*/i == 0);
  Audit("a-recent-1", 10 * day);
  Audit("a-recent-2", 300 * day);

  const std::string exports = dir_.Sub("pruned");
  Retention retention(*db_, clock_, {.batch = 2, .export_dir = exports});
  absl::StatusOr<PruneCounts> pruned = retention.Prune();
  ASSERT_TRUE(pruned.ok()) << pruned.status();
  EXPECT_EQ(pruned->jobs, 3);
  EXPECT_EQ(pruned->job_events, 3);
  EXPECT_EQ(pruned->audit, 5);
  EXPECT_THAT(Ids("jobs"),
              UnorderedElementsAre("j-recent-ok", "j-failed", "j-running", "j-queued"));
  EXPECT_EQ(Count("job_events"), 4);  // 2 + 1 + 1 of the jobs kept
  EXPECT_THAT(Ids("audit_log"), UnorderedElementsAre("a-recent-1", "a-recent-2"));

  // Exported before deletion: one JSON line per row, each job with its events.
  const std::string date = absl::FormatTime("%Y-%m-%d", clock_.Now(), absl::UTCTimeZone());
  const std::vector<std::string> jobs = Lines(exports + "/jobs-" + date + ".jsonl");
  ASSERT_EQ(jobs.size(), 3u);
  std::string all_jobs = absl::StrJoin(jobs, "\n");
  EXPECT_THAT(all_jobs, HasSubstr(R"("id":"j-old-ok")"));
  EXPECT_THAT(all_jobs, HasSubstr(R"("id":"j-old-cancelled")"));
  EXPECT_THAT(all_jobs, HasSubstr(R"("id":"j-old-failed")"));
  EXPECT_THAT(all_jobs, HasSubstr(R"("data":"\"line 3\"")"));
  const std::vector<std::string> audit = Lines(exports + "/audit-" + date + ".jsonl");
  ASSERT_EQ(audit.size(), 5u);
  EXPECT_THAT(absl::StrJoin(audit, "\n"), HasSubstr(R"("actor_id":null)"));
  EXPECT_EQ(std::filesystem::status(exports + "/audit-" + date + ".jsonl").permissions() &
                std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);

  // Nothing more is due: a second pass deletes and exports nothing.
  pruned = retention.Prune();
  ASSERT_TRUE(pruned.ok());
  EXPECT_EQ(pruned->jobs + pruned->audit, 0);
  EXPECT_EQ(Lines(exports + "/jobs-" + date + ".jsonl").size(), 3u);
  // Time passes: the recent job's turn comes.
  clock_.Advance(25 * day);
  pruned = retention.Prune();
  ASSERT_TRUE(pruned.ok());
  EXPECT_EQ(pruned->jobs, 1);
  EXPECT_EQ(pruned->job_events, 2);
}

TEST_P(RetentionTest, OnlyTheLeaseHolderPrunes) {
  Audit("a-old", absl::Hours(24 * 400));
  LeaseStore leases(*db_, clock_);
  Retention first(*db_, clock_, {.owner = "controller-a"}, &leases);
  Retention second(*db_, clock_, {.owner = "controller-b"}, &leases);
  absl::StatusOr<PruneCounts> a = first.Prune();
  absl::StatusOr<PruneCounts> b = second.Prune();
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_TRUE(a->leader);
  EXPECT_EQ(a->audit, 1);
  EXPECT_FALSE(b->leader);
}

L4D2_INSTANTIATE_BACKEND_TEST(RetentionTest);

}  // namespace
}  // namespace l4d2::controller
