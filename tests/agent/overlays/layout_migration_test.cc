#include "agent/overlays/layout_migration.h"

#include <filesystem>

#include "common/file_util.h"
#include "gtest/gtest.h"
#include "tests/testing/temp_dir.h"

namespace l4d2::agent {
namespace {

namespace fs = std::filesystem;
using ::l4d2::testing::TempDir;

class LayoutMigrationTest : public ::testing::Test {
 protected:
  LayoutMigrationTest() : layout_(dir_.Sub("root")) {
    EXPECT_TRUE(layout_.CreateDirectories().ok());
  }

  // An overlay as agents laid them out before: overlays/<ref as a path>/<version>, `current`.
  void OldOverlay(const std::string& ref, int version, const std::string& content) {
    const std::string dir = layout_.overlays_dir() + "/" + ref;
    fs::create_directories(dir + "/" + std::to_string(version));
    ASSERT_TRUE(WriteFileAtomically(dir + "/" + std::to_string(version) + "/file", content).ok());
    fs::remove(dir + "/current");
    fs::create_directory_symlink(std::to_string(version), dir + "/current");
  }

  std::string Read(const std::string& path) {
    absl::StatusOr<std::string> text = ReadFileToString(path);
    return text.ok() ? *text : text.status().ToString();
  }

  TempDir dir_;
  HostLayout layout_;
};

TEST_F(LayoutMigrationTest, NestedRefsMoveToTheirOwnDirectoriesAndPlansFollow) {
  OldOverlay("std", 1, "std");
  OldOverlay("ceox", 4, "A");
  OldOverlay("ceox/2024", 1, "B");  // inside A's ref, the case
  OldOverlay("users/42/maps", 3, "maps");
  OldOverlay("users/42/maps/extra", 2, "extra");  // a ref inside a nested ref
  fs::create_directories(layout_.overlays_dir() + "/.workshop-cache");
  ASSERT_TRUE(WriteFileAtomically(layout_.overlays_dir() + "/.workshop-cache/1-2.vpk", "v").ok());
  fs::create_directories(layout_.instances_dir() + "/s1");
  ASSERT_TRUE(WriteFileAtomically(layout_.instances_dir() + "/s1/lower",
                                  "instances/s1/layer\noverlays/users/42/maps/3\n"
                                  "overlays/ceox/2024/1\noverlays/std/1\ninstallation/9\n")
                  .ok());
  fs::create_directories(layout_.instances_dir() + "/s2");  // never started: no plan

  absl::StatusOr<int> moved = MigrateOverlayLayout(layout_);
  ASSERT_TRUE(moved.ok()) << moved.status();
  EXPECT_EQ(*moved, 3);
  EXPECT_EQ(Read(layout_.overlay_dir("std") + "/current/file"), "std");
  EXPECT_EQ(Read(layout_.overlay_dir("ceox") + "/current/file"), "A");
  EXPECT_EQ(Read(layout_.overlay_dir("ceox/2024") + "/current/file"), "B");
  EXPECT_EQ(Read(layout_.overlay_dir("users/42/maps") + "/current/file"), "maps");
  EXPECT_EQ(Read(layout_.overlay_dir("users/42/maps/extra") + "/current/file"), "extra");
  EXPECT_EQ(layout_.overlay_dir("ceox/2024"), layout_.overlays_dir() + "/ceox+2024");
  EXPECT_FALSE(fs::exists(layout_.overlays_dir() + "/ceox/2024"));
  EXPECT_FALSE(fs::exists(layout_.overlays_dir() + "/users"));  // held only nested refs
  EXPECT_EQ(Read(layout_.overlays_dir() + "/.workshop-cache/1-2.vpk"), "v");
  EXPECT_EQ(Read(layout_.instances_dir() + "/s1/lower"),
            "instances/s1/layer\noverlays/users+42+maps/3\noverlays/ceox+2024/1\noverlays/std/1\n"
            "installation/9\n");
  EXPECT_FALSE(fs::exists(layout_.instances_dir() + "/s2/lower"));

  // Done once: the next start finds the marker and walks nothing.
  OldOverlay("late/nested", 1, "x");
  EXPECT_EQ(*MigrateOverlayLayout(layout_), 0);
  EXPECT_TRUE(fs::exists(layout_.overlays_dir() + "/late/nested"));
}

TEST_F(LayoutMigrationTest, AClashStopsBeforeMovingAndChangesNothing) {
  OldOverlay("a/b", 1, "nested");
  OldOverlay("a+b", 1, "flat");  // cannot be a ref; made by hand
  EXPECT_EQ(MigrateOverlayLayout(layout_).status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(Read(layout_.overlays_dir() + "/a/b/current/file"), "nested");
  EXPECT_EQ(Read(layout_.overlays_dir() + "/a+b/current/file"), "flat");
  EXPECT_FALSE(fs::exists(layout_.overlays_dir() + "/.layout"));
}

TEST_F(LayoutMigrationTest, AFreshHostIsMarkedAtOnce) {
  EXPECT_EQ(*MigrateOverlayLayout(layout_), 0);
  EXPECT_TRUE(fs::exists(layout_.overlays_dir() + "/.layout"));
}

}  // namespace
}  // namespace l4d2::agent
