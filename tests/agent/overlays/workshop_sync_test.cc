// Workshop overlay sync with the real libcurl fetcher against a local stand-in of the Steam Web
// API (tests/fakes/steam_web_api.py): items and collections resolved, each file downloaded
// once per time_updated, unchanged items cost no download and make no new version.

#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "agent/os/linux/fetch_helper.h"
#include "agent/os/linux/linux_process_runner.h"
#include "agent/overlays/overlay_manager.h"
#include "common/file_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/child_process.h"
#include "tests/testing/net.h"
#include "tests/testing/steam_web_api.h"
#include "tests/testing/temp_dir.h"

namespace l4d2::agent {
namespace {

namespace fs = std::filesystem;
using ::l4d2::testing::TempDir;

class WorkshopSyncTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(layout_.CreateDirectories().ok());
    fs::create_directories(dir_.Sub("api"));
    WriteItems(1700000000);
    std::ofstream(dir_.Sub("api/collections.json")) << R"({"900": ["102"]})";
    absl::StatusOr<l4d2::testing::SteamWebApiStandIn> steam =
        l4d2::testing::StartSteamWebApi(dir_.Sub("api"));
    ASSERT_TRUE(steam.ok()) << steam.status();
    steam_ = *std::move(steam);
  }

  void WriteItems(int64_t second_updated) {
    std::ofstream(dir_.Sub("api/items.json"))
        << R"({"101": {"title": "Map", "time_updated": 1700000000, "content": "VPK-101"},)"
        << R"( "102": {"title": "Skins", "time_updated": )" << second_updated
        << R"(, "content": "VPK-102-)" << second_updated << R"("}})";
  }

  int Downloads() {
    absl::StatusOr<std::string> log = ReadFileToString(dir_.Sub("api/downloads.log"));
    return log.ok()
               ? static_cast<int>(
                     std::vector<std::string>(absl::StrSplit(*log, '\n', absl::SkipEmpty())).size())
               : 0;
  }

  TempDir dir_;
  HostLayout layout_{dir_.Sub("root")};
  l4d2::testing::SteamWebApiStandIn steam_;
  LinuxProcessRunner runner_;
  // Through left4me-fetch, as the agent does.
  FetchHelper fetcher_{runner_, {.program = L4D2_FETCH_HELPER, .scratch_dir = dir_.path()}};
};

TEST_F(WorkshopSyncTest, DownloadsOncePerItemVersion) {
  OverlayManager manager(
      layout_, {.steam_web_api = steam_.url},
      [] { return std::map<std::string, std::vector<std::string>>(); }, &fetcher_);
  v1::SyncOverlayRequest request;
  request.set_ref("workshop/coop");
  request.mutable_workshop()->add_item_ids(101);
  request.mutable_workshop()->add_collection_ids(900);

  absl::StatusOr<v1::OverlaySyncResult> first = manager.Sync(request, "op1");
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->version(), "1");
  EXPECT_EQ(first->file_count(), 2u);
  const std::string addons = layout_.overlay_dir("workshop/coop") + "/current/left4dead2/addons";
  EXPECT_EQ(*ReadFileToString(addons + "/101.vpk"), "VPK-101");
  EXPECT_EQ(*ReadFileToString(addons + "/102.vpk"), "VPK-102-1700000000");
  EXPECT_EQ(Downloads(), 2);

  absl::StatusOr<v1::OverlaySyncResult> again = manager.Sync(request, "op2");
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_FALSE(again->changed());
  EXPECT_EQ(Downloads(), 2) << "unchanged items were downloaded again";

  WriteItems(1700009999);  // Item 102 was updated on the Workshop.
  absl::StatusOr<v1::OverlaySyncResult> updated = manager.Sync(request, "op3");
  ASSERT_TRUE(updated.ok()) << updated.status();
  EXPECT_TRUE(updated->changed());
  EXPECT_EQ(updated->version(), "2");
  EXPECT_EQ(Downloads(), 3);
  EXPECT_EQ(*ReadFileToString(addons + "/102.vpk"), "VPK-102-1700009999");
  // Version 1 went (no instance pinned it), and with it the only use of the old download.
  std::vector<std::string> cached;
  for (const auto& entry : fs::directory_iterator(layout_.overlays_dir() + "/.workshop-cache")) {
    cached.push_back(entry.path().filename().string());
  }
  std::sort(cached.begin(), cached.end());
  EXPECT_THAT(cached, ::testing::ElementsAre("101-1700000000.vpk", "102-1700009999.vpk"));

  request.mutable_workshop()->add_item_ids(555);  // Not on the Workshop.
  absl::StatusOr<v1::OverlaySyncResult> missing = manager.Sync(request, "op4");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(fs::read_symlink(layout_.overlay_dir("workshop/coop") + "/current"), "2");
}

}  // namespace
}  // namespace l4d2::agent
