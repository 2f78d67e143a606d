// The audit log's contract on SQLite and PostgreSQL (tests/controller/store/backend_test.h).

#include "controller/store/audit_log.h"

#include <algorithm>

#include "absl/strings/match.h"
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

// An operator sees the entries of their objects and their own actions, each once, newest
// first, paged both ways and filtered; read as a merge of two indexed pages (issue Scale).
TEST_P(AuditLogTest, AnOperatorsViewMergesTheirObjectsAndTheirActions) {
  // i % 3: 0 alice's object by the system, 1 alice acting on bob's object, 2 bob's alone;
  // every sixth entry alice acting on her own object (in both halves, listed once).
  std::vector<std::string> hers;
  for (int i = 0; i < 30; ++i) {
    const bool own = i % 6 == 0;
    const std::string actor =
        own || i % 3 == 1 ? "user:alice" : (i % 3 == 0 ? "system" : "user:bob");
    const std::string owner = i % 3 == 0 ? "alice" : "bob";
    ASSERT_TRUE(audit_
                    ->Append(actor, i % 2 ? "server.stop" : "server.start", absl::StrCat("t", i),
                             "{}", owner)
                    .ok());
    if (i % 3 != 2) hers.push_back(absl::StrCat("t", i));
    clock_.Advance(absl::Seconds(1));
  }
  std::reverse(hers.begin(), hers.end());
  std::vector<std::string> seen;
  AuditQuery query{.visible_to = "alice", .limit = 7};
  for (;;) {
    absl::StatusOr<std::vector<AuditEntry>> page = audit_->List(query);
    ASSERT_TRUE(page.ok()) << page.status();
    for (const AuditEntry& entry : *page) seen.push_back(entry.target);
    if (page->size() < 7) break;
    query.before_id = page->back().id;
  }
  EXPECT_EQ(seen, hers);
  // Forward from an entry (following the log), and with filters.
  absl::StatusOr<std::vector<AuditEntry>> all =
      audit_->List({.visible_to = "alice", .limit = 1000});
  ASSERT_TRUE(all.ok());
  absl::StatusOr<std::vector<AuditEntry>> after =
      audit_->List({.visible_to = "alice", .after_id = all->at(5).id, .limit = 3});
  ASSERT_TRUE(after.ok());
  ASSERT_EQ(after->size(), 3u);
  EXPECT_EQ((*after)[0].target, hers[4]);
  EXPECT_EQ((*after)[2].target, hers[2]);
  absl::StatusOr<std::vector<AuditEntry>> stops =
      audit_->List({.visible_to = "alice", .limit = 100, .action_prefix = "server.stop"});
  ASSERT_TRUE(stops.ok());
  for (const AuditEntry& entry : *stops) EXPECT_EQ(entry.action, "server.stop");
  EXPECT_EQ(stops->size(), 10u);
  absl::StatusOr<std::vector<AuditEntry>> one =
      audit_->List({.visible_to = "alice", .limit = 100, .target = "t6"});
  ASSERT_TRUE(one.ok());
  ASSERT_EQ(one->size(), 1u);  // hers twice over, listed once
}

// An action filter is a prefix ("server." or "server.stop"); each matching action's entries are
// read from their own index in id order (issue Scale: a rare action walked the whole log).
// The same entries, in the same order, as filtering the whole log by hand, paged both ways.
TEST_P(AuditLogTest, AnActionPrefixReadsEveryMatchingActionInOrder) {
  const char* actions[] = {"server.start", "server.stop", "host.create", "server.restart",
                           "user.create"};
  std::vector<AuditEntry> appended;
  for (int i = 0; i < 40; ++i) {
    const std::string owner = i % 4 == 0 ? "alice" : "bob";
    const std::string actor = i % 5 == 0 ? "user:alice" : "system";
    ASSERT_TRUE(audit_->Append(actor, actions[i % 5], absl::StrCat("t", i), "{}", owner).ok());
    appended.push_back(
        {.actor = actor, .action = actions[i % 5], .target = absl::StrCat("t", i), .owner = owner});
    clock_.Advance(absl::Seconds(1));
  }
  auto expected = [&](const std::string& visible_to, const std::string& prefix) {
    std::vector<std::string> targets;
    for (auto it = appended.rbegin(); it != appended.rend(); ++it) {
      const bool visible =
          visible_to.empty() || it->owner == visible_to || it->actor == "user:" + visible_to;
      if (visible && absl::StartsWith(it->action, prefix)) targets.push_back(it->target);
    }
    return targets;
  };
  for (const std::string visible_to : {"", "alice"}) {
    for (const std::string prefix : {"server.", "server.st", "host", "user.create", "s"}) {
      SCOPED_TRACE(visible_to + " " + prefix);
      std::vector<std::string> seen;
      AuditQuery query{.visible_to = visible_to, .limit = 3, .action_prefix = prefix};
      for (int pages = 0; pages < 50; ++pages) {
        absl::StatusOr<std::vector<AuditEntry>> page = audit_->List(query);
        ASSERT_TRUE(page.ok()) << page.status();
        for (const AuditEntry& entry : *page) seen.push_back(entry.target);
        if (page->size() < 3) break;
        query.before_id = page->back().id;
      }
      const std::vector<std::string> want = expected(visible_to, prefix);
      EXPECT_EQ(seen, want);
      if (want.size() < 4) continue;
      // Forward from the oldest of the newest three: the next newer ones, oldest first.
      absl::StatusOr<std::vector<AuditEntry>> all =
          audit_->List({.visible_to = visible_to, .limit = 1000, .action_prefix = prefix});
      ASSERT_TRUE(all.ok());
      absl::StatusOr<std::vector<AuditEntry>> forward = audit_->List({.visible_to = visible_to,
                                                                      .after_id = all->at(3).id,
                                                                      .limit = 2,
                                                                      .action_prefix = prefix});
      ASSERT_TRUE(forward.ok());
      ASSERT_EQ(forward->size(), 2u);
      EXPECT_EQ((*forward)[0].target, want[2]);
      EXPECT_EQ((*forward)[1].target, want[1]);
    }
  }
  // No action has the prefix: nothing, without reading the log.
  absl::StatusOr<std::vector<AuditEntry>> none = audit_->List({.action_prefix = "nothing."});
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
  absl::StatusOr<std::vector<RowRevision>> ids =
      audit_->ListIds({.visible_to = "alice", .limit = 100, .action_prefix = "host."});
  ASSERT_TRUE(ids.ok()) << ids.status();
  EXPECT_EQ(ids->size(), expected("alice", "host.").size());
}

L4D2_INSTANTIATE_BACKEND_TEST(AuditLogTest);

}  // namespace
}  // namespace l4d2::controller
