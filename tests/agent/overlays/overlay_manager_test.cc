#include "agent/overlays/overlay_manager.h"

#include <sys/stat.h>

#include <filesystem>

#include "absl/strings/str_cat.h"
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
  // One directory per ref: refs never nest on disk.
  std::string base = layout_.overlays_dir() + "/comp+base";
  EXPECT_EQ(layout_.overlay_dir("comp/base"), base);
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

// Issue Isolation, 1, as reproduced: operator B's `ceox/2024` lay inside operator A's `ceox`,
// whose syncs took B's directory `2024` for an old version of their own and removed it.
TEST_F(OverlayManagerTest, NoRefsSyncTouchesAnotherRefsDirectories) {
  ASSERT_TRUE(manager_.Sync(Files("ceox/2024", {{"b.cfg", "B"}}), "b1").ok());
  for (int i = 1; i <= 3; ++i) {
    auto synced =
        manager_.Sync(Files("ceox", {{"a.cfg", std::to_string(i)}}), absl::StrCat("a", i));
    ASSERT_TRUE(synced.ok()) << synced.status();
    EXPECT_EQ(synced->version(), std::to_string(i));  // not 2025, 2027
  }
  EXPECT_EQ(*ReadFileToString(layout_.overlay_dir("ceox/2024") + "/current/b.cfg"), "B");
  EXPECT_EQ(*ReadFileToString(layout_.overlay_dir("ceox") + "/current/a.cfg"), "3");
  auto list = manager_.List();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->overlays_size(), 2);
  EXPECT_EQ(list->overlays(0).ref(), "ceox");
  EXPECT_THAT(list->overlays(0).versions(), ElementsAre("3"));
  EXPECT_EQ(list->overlays(1).ref(), "ceox/2024");
  EXPECT_THAT(list->overlays(1).versions(), ElementsAre("1"));
  // Through another's live version: no such ref can be named.
  for (const char* ref : {"ceox/current", "ceox/current/x", "ceox+2024", "CEOX", "ceox/../x"}) {
    auto refused = manager_.Sync(Files(ref, {{"x", "x"}}), "evil");
    if (std::string(ref) == "ceox/current" || std::string(ref) == "ceox/current/x") {
      // Valid refs of their own: their own directories, nothing of ceox's.
      ASSERT_TRUE(refused.ok()) << ref;
      EXPECT_TRUE(fs::is_directory(layout_.overlay_dir(ref))) << ref;
    } else {
      EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument) << ref;
    }
  }
  EXPECT_EQ(*ReadFileToString(layout_.overlay_dir("ceox") + "/current/a.cfg"), "3");
  EXPECT_FALSE(fs::exists(layout_.overlay_dir("ceox") + "/3/x"));
  EXPECT_FALSE(fs::exists(layout_.overlay_dir("ceox") + "/3/current"));
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
  // ... nor a script sandbox.
  EXPECT_EQ(manager_.Sync(script, "op").status().code(), absl::StatusCode::kFailedPrecondition);
  v1::SyncOverlayRequest none;
  none.set_ref("std");
  EXPECT_EQ(manager_.Sync(none, "op").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(fs::is_empty(layout_.overlays_dir()));
}

// Runs nothing: does to the working directory what the test says, and prints lines.
class FakeScriptSandbox final : public ScriptSandbox {
 public:
  std::function<absl::Status(const std::string& workdir)> act;
  std::vector<std::string> output;
  ScriptJob last;

  absl::Status Run(const ScriptJob& job, const LineSink& sink) override {
    last = job;
    for (const std::string& line : output) sink(line);
    return act(job.workdir);
  }
};

class ScriptSourceTest : public OverlayManagerTest {
 protected:
  v1::SyncOverlayRequest Script(const std::string& source) {
    v1::SyncOverlayRequest request;
    request.set_ref("scripted");
    request.mutable_script()->set_source(source);
    return request;
  }
  std::string Base() const { return layout_.overlay_dir("scripted"); }

  FakeScriptSandbox sandbox_;
  OverlayManager scripted_{layout_,
                           {.max_inline_bytes = 1024, .max_extracted_bytes = 100},
                           [this] { return pinned_; },
                           nullptr,
                           nullptr,
                           &sandbox_};
};

TEST_F(ScriptSourceTest, WhatTheScriptWritesBecomesTheVersionAndItsOutputIsPassedOn) {
  sandbox_.output = {"fetching", "done"};
  sandbox_.act = [](const std::string& workdir) {
    fs::create_directories(workdir + "/left4dead2/cfg");
    return WriteFileAtomically(workdir + "/left4dead2/cfg/server.cfg", "hostname x");
  };
  std::vector<std::string> lines;
  v1::SyncOverlayRequest request = Script("#!/bin/sh\necho hi");
  request.mutable_script()->set_network(true);
  request.mutable_script()->mutable_timeout()->set_seconds(30);
  auto result = scripted_.Sync(request, "op/1",
                               [&lines](absl::string_view line) { lines.emplace_back(line); });
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->version(), "1");
  EXPECT_EQ(result->file_count(), 1u);
  EXPECT_THAT(lines, ElementsAre("fetching", "done"));
  EXPECT_EQ(sandbox_.last.source, "#!/bin/sh\necho hi");
  EXPECT_TRUE(sandbox_.last.network);
  EXPECT_EQ(sandbox_.last.timeout, absl::Seconds(30));
  EXPECT_EQ(sandbox_.last.workdir, Base() + "/.staging-op_1");
  EXPECT_EQ(*ReadFileToString(Base() + "/current/left4dead2/cfg/server.cfg"), "hostname x");
  EXPECT_FALSE(fs::exists(Base() + "/.staging-op_1"));
}

TEST_F(ScriptSourceTest, AFailingScriptLeavesTheCurrentVersionAndNoStaging) {
  sandbox_.act = [](const std::string& workdir) {
    return WriteFileAtomically(workdir + "/a", "1");
  };
  ASSERT_TRUE(scripted_.Sync(Script("echo"), "op1").ok());
  sandbox_.act = [](const std::string& workdir) {
    EXPECT_TRUE(WriteFileAtomically(workdir + "/a", "2").ok());
    return absl::FailedPreconditionError("overlay script failed (exit status 3)");
  };
  auto failed = scripted_.Sync(Script("exit 3"), "op2");
  EXPECT_EQ(failed.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(*ReadFileToString(Base() + "/current/a"), "1");
  EXPECT_FALSE(fs::exists(Base() + "/.staging-op2"));
  EXPECT_FALSE(fs::exists(Base() + "/2"));
}

TEST_F(ScriptSourceTest, WhatAScriptLeavesIsChecked) {
  const std::vector<std::pair<std::string, std::function<void(const std::string&)>>> cases = {
      {"absolute symlink",
       [](const std::string& w) { fs::create_symlink("/etc/shadow", w + "/shadow"); }},
      {"escaping symlink",
       [](const std::string& w) {
         fs::create_directories(w + "/a/b");
         fs::create_symlink("../../../outside", w + "/a/b/link");
       }},
      // Counted, a chain through "x -> ." stays inside; resolved, it reaches the layer's parent
      // (issue Isolation, 4).
      {"link chain",
       [](const std::string& w) {
         fs::create_directories(w + "/left4dead2/cfg");
         fs::create_symlink(".", w + "/left4dead2/cfg/x");
         fs::create_symlink("x/x/x/../../../../..", w + "/left4dead2/cfg/server.cfg");
       }},
      {"link loop",
       [](const std::string& w) {
         fs::create_symlink("b", w + "/a");
         fs::create_symlink("a", w + "/b");
       }},
      {"fifo", [](const std::string& w) { ::mkfifo((w + "/pipe").c_str(), 0644); }},
      {"too big",
       [](const std::string& w) {
         EXPECT_TRUE(WriteFileAtomically(w + "/big", std::string(101, 'x')).ok());
       }},
  };
  for (const auto& [name, make] : cases) {
    sandbox_.act = [&make](const std::string& workdir) {
      make(workdir);
      return absl::OkStatus();
    };
    auto result = scripted_.Sync(Script("true"), "op");
    EXPECT_FALSE(result.ok()) << name;
    EXPECT_FALSE(fs::exists(Base())) << name;
  }
  // A relative symlink that stays inside is fine.
  sandbox_.act = [](const std::string& w) {
    fs::create_directories(w + "/a/b");
    EXPECT_TRUE(WriteFileAtomically(w + "/a/target", "t").ok());
    fs::create_symlink("../target", w + "/a/b/link");
    return absl::OkStatus();
  };
  EXPECT_TRUE(scripted_.Sync(Script("true"), "op").ok());
}

TEST_F(ScriptSourceTest, BadScriptRequestsAreRefusedBeforeAnythingRuns) {
  sandbox_.act = [](const std::string&) {
    ADD_FAILURE() << "the script ran";
    return absl::OkStatus();
  };
  v1::SyncOverlayRequest zero = Script("true");
  zero.mutable_script()->mutable_timeout()->set_seconds(0);
  v1::SyncOverlayRequest negative = Script("true");
  negative.mutable_script()->mutable_timeout()->set_seconds(-5);
  v1::SyncOverlayRequest long_running = Script("true");
  long_running.mutable_script()->mutable_timeout()->set_seconds(7 * 3600);
  for (const v1::SyncOverlayRequest& request :
       {Script(""), Script(std::string(2000, 'x')), Script(std::string("a\0b", 3)), zero, negative,
        long_running}) {
    EXPECT_EQ(scripted_.Sync(request, "op").status().code(), absl::StatusCode::kInvalidArgument);
  }
  EXPECT_TRUE(fs::is_empty(layout_.overlays_dir()));
}

}  // namespace
}  // namespace l4d2::agent
