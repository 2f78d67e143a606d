// The audit log's contract on SQLite and PostgreSQL (tests/controller/store/backend_test.h).

#include "controller/store/audit_log.h"

#include "absl/strings/str_cat.h"
#include "controller/store/migrations.h"
#include "gmock/gmock.h"
#include "tests/controller/store/backend_test.h"

namespace l4d2::controller {
namespace {

class AuditLogTest : public BackendTest {
 protected:
  void SetUp() override {
    BackendTest::SetUp();
    if (IsSkipped()) return;
    ASSERT_TRUE(ApplyMigrations(*db_, ControllerMigrations(), clock_).ok());
    audit_ = std::make_unique<AuditLog>(*db_, clock_);
  }
  std::unique_ptr<AuditLog> audit_;
};

TEST_P(AuditLogTest, EntriesComeBackNewestFirstAndPageByTime) {
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(audit_
                    ->Append("user:u1", "server.start", absl::StrCat("s", i),
                             AuditDetail({{"note", "quote \" and newline \n"}}))
                    .ok());
    clock_.Advance(absl::Seconds(1));
  }
  absl::StatusOr<std::vector<AuditEntry>> newest = audit_->Newest(2);
  ASSERT_TRUE(newest.ok()) << newest.status();
  ASSERT_EQ(newest->size(), 2u);
  EXPECT_EQ((*newest)[0].target, "s4");
  EXPECT_EQ((*newest)[1].target, "s3");
  EXPECT_EQ((*newest)[0].actor, "user:u1");
  EXPECT_EQ((*newest)[0].detail, R"({"note":"quote \" and newline \n"})");
  absl::StatusOr<std::vector<AuditEntry>> older = audit_->Newest(10, (*newest)[1].at);
  ASSERT_TRUE(older.ok());
  ASSERT_EQ(older->size(), 3u);
  EXPECT_EQ((*older)[0].target, "s2");
}

L4D2_INSTANTIATE_BACKEND_TEST(AuditLogTest);

}  // namespace
}  // namespace l4d2::controller
