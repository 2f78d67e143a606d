#include "agent/overlays/overlay_manager.h"

#include <filesystem>

#include "common/file_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/temp_dir.h"

namespace l4d2::agent {
namespace {

namespace fs = std::filesystem;
using ::l4d2::testing::TempDir;
using ::testing::ElementsAre;

v1::SyncOverlayRequest Files(const std::string& ref,
                             std::vector<std::pair<std::string, std::string>> files) {
  v1::SyncOverlayRequest request;
  request.set_ref(ref);
  for (auto& [path, content] : files) {
    v1::InlineFile* file = request.mutable_inline_files()->add_files();
    file->set_path(path);
    file->set_content(content);
  }
  return request;
}

class OverlayManagerTest : public ::testing::Test {
 protected:
  OverlayManagerTest() : layout_(dir_.Sub("root")) {
    EXPECT_TRUE(layout_.CreateDirectories().ok());
  }
  TempDir dir_;
  HostLayout layout_;
  std::map<std::string, std::vector<std::string>> pinned_;
  OverlayManager manager_{
      layout_, {.max_inline_bytes = 1024, .max_inline_files = 5}, [this] { return pinned_; }};
};

TEST_F(OverlayManagerTest, VersionsSwitchCurrentAndIdenticalContentChangesNothing) {
  auto first = manager_.Sync(Files("comp/base", {{"left4dead2/cfg/server.cfg", "a"}}), "op1");
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->version(), "1");
  EXPECT_TRUE(first->changed());
  EXPECT_EQ(first->file_count(), 1u);
  std::string base = layout_.overlays_dir() + "/comp/base";
  EXPECT_EQ(fs::read_symlink(base + "/current"), "1");
  EXPECT_EQ(*ReadFileToString(base + "/current/left4dead2/cfg/server.cfg"), "a");

  auto same = manager_.Sync(Files("comp/base", {{"left4dead2/cfg/server.cfg", "a"}}), "op2");
  ASSERT_TRUE(same.ok());
  EXPECT_FALSE(same->changed());
  EXPECT_EQ(same->version(), "1");

  pinned_["comp/base/1"] = {"s1"};  // A running instance uses version 1: it stays.
  auto second = manager_.Sync(Files("comp/base", {{"left4dead2/cfg/server.cfg", "b"}}), "op3");
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->version(), "2");
  EXPECT_TRUE(fs::exists(base + "/1/left4dead2/cfg/server.cfg"));
  pinned_.clear();
  ASSERT_TRUE(manager_.Sync(Files("comp/base", {{"x.cfg", "c"}}), "op4").ok());
  EXPECT_FALSE(fs::exists(base + "/1"));
  EXPECT_FALSE(fs::exists(base + "/2"));
  for (const auto& entry : fs::directory_iterator(base)) {
    EXPECT_EQ(entry.path().filename().string().find(".staging"), std::string::npos);
  }
}

TEST_F(OverlayManagerTest, ListsOverlaysWithVersionsAndUsers) {
  ASSERT_TRUE(manager_.Sync(Files("std", {{"a.cfg", "1"}}), "o1").ok());
  ASSERT_TRUE(manager_.Sync(Files("users/42/maps", {{"m.txt", "1"}}), "o2").ok());
  pinned_["std/1"] = {"s1", "s2"};
  auto list = manager_.List();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->overlays_size(), 2);
  EXPECT_EQ(list->overlays(0).ref(), "std");
  EXPECT_THAT(list->overlays(0).used_by(), ElementsAre("s1@1", "s2@1"));
  EXPECT_EQ(list->overlays(1).ref(), "users/42/maps");
  EXPECT_EQ(list->overlays(1).current_version(), "1");
}

TEST_F(OverlayManagerTest, BadInputChangesNothing) {
  for (const char* path :
       {"../x", "/etc/passwd", "a/../../b", "a//b", "a/./b", "", "a\\\\b", "a\nb"}) {
    EXPECT_EQ(manager_.Sync(Files("std", {{path, "x"}}), "op").status().code(),
              absl::StatusCode::kInvalidArgument)
        << path;
  }
  EXPECT_EQ(manager_.Sync(Files("../std", {{"a", "x"}}), "op").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(manager_.Sync(Files("std", {{"a", "x"}, {"a", "y"}}), "op").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(manager_.Sync(Files("std", {{"big", std::string(2000, 'x')}}), "op").status().code(),
            absl::StatusCode::kResourceExhausted);
  v1::SyncOverlayRequest archive;
  archive.set_ref("std");
  archive.mutable_archive()->set_url("https://example.invalid/a.tar.gz");
  // This manager was built without an archive fetcher.
  EXPECT_EQ(manager_.Sync(archive, "op").status().code(), absl::StatusCode::kFailedPrecondition);
  v1::SyncOverlayRequest workshop;
  workshop.set_ref("std");
  workshop.mutable_workshop()->add_item_ids(123456);
  EXPECT_EQ(manager_.Sync(workshop, "op").status().code(), absl::StatusCode::kFailedPrecondition);
  v1::SyncOverlayRequest script;
  script.set_ref("std");
  script.mutable_script()->set_source("echo hi > x");
  EXPECT_EQ(manager_.Sync(script, "op").status().code(), absl::StatusCode::kUnimplemented);
  v1::SyncOverlayRequest none;
  none.set_ref("std");
  EXPECT_EQ(manager_.Sync(none, "op").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(fs::is_empty(layout_.overlays_dir()));
}

}  // namespace
}  // namespace l4d2::agent
