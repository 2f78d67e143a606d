// The Workshop refresh (controller/fleet/workshop_refresh.h), a PeriodicRound, on SQLite and
// PostgreSQL: every Workshop overlay (and no other) queued to sync to every ready host once per
// interval, as the system, audited; another controller and this one restarted never run the same
// round; a round due while every controller was down runs once at start.

#include "controller/fleet/workshop_refresh.h"

#include "controller/store/migrations.h"
#include "controller/store/users.h"
#include "controller/usecases/catalog.h"
#include "gmock/gmock.h"
#include "tests/controller/store/backend_test.h"

namespace l4d2::controller {
namespace {

using ::testing::EndsWith;
using ::testing::Optional;

class WorkshopRefreshTest : public FleetBackendTest {
 protected:
  void SetUp() override {
    FleetBackendTest::SetUp();
    if (IsSkipped()) return;
    alice_ = NewUser("alice");
    for (const char* name : {"h1", "h2"}) {
      auto created =
          stores_->hosts.Create({.name = name, .address = "127.0.0.1:1"}, absl::Hours(1));
      ASSERT_TRUE(created.ok());
      ASSERT_TRUE(stores_->hosts.RedeemEnrollmentToken(created->second).ok());
    }
    agent::v1::SyncOverlayRequest workshop;
    workshop.mutable_workshop()->add_item_ids(123456789);
    workshop_ = CreateOverlay(*stores_, alice_, "u-alice/maps", false, workshop)->id;
    agent::v1::SyncOverlayRequest files;
    agent::v1::InlineFile* file = files.mutable_inline_files()->add_files();
    file->set_path("left4dead2/cfg/x.cfg");
    file->set_content("sv_cheats 0");
    ASSERT_TRUE(CreateOverlay(*stores_, alice_, "u-alice/cfg", false, files).ok());
  }

  // A controller's round, as the controller process makes it.
  std::unique_ptr<PeriodicRound> Round(const std::string& owner) {
    return std::make_unique<PeriodicRound>(
        stores_->leases, clock_,
        PeriodicRoundOptions{
            .lease = "workshop_refresh", .interval = absl::Hours(24), .owner = owner},
        WorkshopRefreshWork(*stores_));
  }

  // The overlay sync jobs queued so far, by overlay id in their parameters.
  int Syncs() {
    absl::StatusOr<std::vector<Job>> jobs = stores_->jobs.List({.kind = "overlay.sync"});
    EXPECT_TRUE(jobs.ok()) << jobs.status();
    return jobs.ok() ? static_cast<int>(jobs->size()) : -1;
  }

  Actor alice_;
  std::string workshop_;
};

TEST_P(WorkshopRefreshTest, EveryWorkshopOverlaySyncsToEveryHostOncePerInterval) {
  std::unique_ptr<PeriodicRound> first = Round("controller-a");
  std::unique_ptr<PeriodicRound> second = Round("controller-b");
  // Nothing was ever run: due at the first check, which one controller takes.
  EXPECT_THAT(*first->Look(), Optional(EndsWith(": " + workshop_)));
  EXPECT_EQ(Syncs(), 2);  // one per ready host; the inline overlay is not refreshed
  EXPECT_EQ(*second->Look(), std::nullopt);
  clock_.Advance(absl::Hours(1));
  EXPECT_EQ(*first->Look(), std::nullopt);
  // This controller restarted (a new owner name): not before the interval has passed.
  std::unique_ptr<PeriodicRound> restarted = Round("controller-a2");
  EXPECT_EQ(*restarted->Look(), std::nullopt);
  EXPECT_EQ(Syncs(), 2);
  // The next day, whichever looks first runs it, once.
  clock_.Advance(absl::Hours(23));
  EXPECT_THAT(*second->Look(), Optional(EndsWith(": " + workshop_)));
  EXPECT_EQ(*first->Look(), std::nullopt);
  EXPECT_EQ(*restarted->Look(), std::nullopt);
  EXPECT_EQ(Syncs(), 4);
  absl::StatusOr<std::vector<AuditEntry>> audit = stores_->audit.Newest(100);
  ASSERT_TRUE(audit.ok());
  int syncs = 0;
  for (const AuditEntry& entry : *audit) {
    if (entry.action == "overlay.sync") {
      ++syncs;
      EXPECT_EQ(entry.actor, "system");
      EXPECT_EQ(entry.target, workshop_);
    }
  }
  EXPECT_EQ(syncs, 2);
  // Every controller down for three days: one round at the first check, not three.
  clock_.Advance(absl::Hours(72));
  std::unique_ptr<PeriodicRound> back = Round("controller-c");
  EXPECT_THAT(*back->Look(), Optional(EndsWith(": " + workshop_)));
  EXPECT_EQ(*back->Look(), std::nullopt);
  EXPECT_EQ(Syncs(), 6);
}

L4D2_INSTANTIATE_BACKEND_TEST(WorkshopRefreshTest);

}  // namespace
}  // namespace l4d2::controller
