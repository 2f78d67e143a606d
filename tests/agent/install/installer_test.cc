// The installer against the fake steamcmd through the real process runner.

#include "agent/install/installer.h"

#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "agent/os/linux/linux_process_runner.h"
#include "common/clock.h"
#include "common/file_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/temp_dir.h"

namespace l4d2::agent {
namespace {

namespace fs = std::filesystem;
using ::l4d2::testing::TempDir;
using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

class InstallerTest : public ::testing::Test {
 protected:
  InstallerTest() : layout_(dir_.Sub("root")) {
    EXPECT_TRUE(layout_.CreateDirectories().ok());
    fs::create_directories(dir_.Sub("state"));
  }

  InstallerOptions Options() {
    return {.steamcmd = L4D2_FAKE_STEAMCMD,
            .env = {"HOME=" + dir_.Sub("home"), "FAKE_STEAMCMD_STATE=" + dir_.Sub("state")},
            .steam_home = dir_.Sub("home"),
            .no_progress_timeout = absl::Seconds(20)};
  }

  absl::StatusOr<v1::InstallResult> Install(Installer& installer, const std::string& op,
                                            std::set<std::string> pinned = {},
                                            v1::InstallRequest request = {}) {
    events_.clear();
    return installer.Install(request, op, pinned,
                             [&](const v1::InstallEvent& event) { events_.push_back(event); });
  }

  void SetSwitch(const std::string& name, const std::string& value) {
    std::ofstream(dir_.Sub("state/" + name)) << value;
  }

  std::string EventsText() const {
    std::string text;
    for (const v1::InstallEvent& event : events_) {
      absl::StrAppend(&text, event.has_log_line() ? event.log_line() : event.ShortDebugString(),
                      "\n");
    }
    return text;
  }

  TempDir dir_;
  HostLayout layout_;
  LinuxProcessRunner runner_;
  std::vector<v1::InstallEvent> events_;
};

TEST_F(InstallerTest, AFreshAnonymousInstallUsesThePlatformWorkaround) {
  Installer installer(layout_, runner_, Clock::Real(), Options());
  absl::StatusOr<v1::InstallResult> result = Install(installer, "op-1");
  ASSERT_TRUE(result.ok()) << result.status() << EventsText();
  EXPECT_EQ(result->build_id(), "9000001");
  EXPECT_TRUE(result->changed());
  EXPECT_EQ(installer.InstalledBuild(), "9000001");
  EXPECT_EQ(installer.CurrentDirectory(), "9000001");
  EXPECT_TRUE(fs::exists(layout_.current_installation() + "/srcds_run"));
  // Progress parsed from steamcmd, reaching 100% of the download.
  bool downloaded = false;
  for (const v1::InstallEvent& event : events_) {
    if (event.has_progress() && event.progress().phase() == "downloading" &&
        event.progress().percent() == 100.0) {
      downloaded = event.progress().bytes_total() > 0;
    }
  }
  EXPECT_TRUE(downloaded) << EventsText();
  EXPECT_THAT(EventsText(), HasSubstr("Success! App '222860' fully installed."));
  // ~/.steam/sdk32 and sdk64 point at steamcmd's client libraries.
  EXPECT_EQ(fs::read_symlink(dir_.Sub("home/.steam/sdk32")),
            fs::path(dir_.Sub("home/.steam/steamcmd/linux32")));
  EXPECT_TRUE(fs::exists(dir_.Sub("home/.steam/sdk64/steamclient.so")));
  // No staging directory is left behind.
  for (const auto& entry : fs::directory_iterator(layout_.installation_dir())) {
    EXPECT_THAT(entry.path().filename().string(), Not(HasSubstr(".staging")));
  }
}

TEST_F(InstallerTest, AnUpToDateInstallChangesNothing) {
  Installer installer(layout_, runner_, Clock::Real(), Options());
  ASSERT_TRUE(Install(installer, "op-1").ok());
  absl::StatusOr<v1::InstallResult> again = Install(installer, "op-2");
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_FALSE(again->changed());
  EXPECT_EQ(installer.CurrentDirectory(), "9000001");
}

TEST_F(InstallerTest, AnUpdateSwitchesCurrentAndKeepsOnlyPinnedBuilds) {
  Installer installer(layout_, runner_, Clock::Real(), Options());
  ASSERT_TRUE(Install(installer, "op-1").ok());
  SetSwitch("public_buildid", "9000002");
  // An instance still runs on 9000001: it must survive the update.
  absl::StatusOr<v1::InstallResult> update = Install(installer, "op-2", {"9000001"});
  ASSERT_TRUE(update.ok()) << update.status() << EventsText();
  EXPECT_TRUE(update->changed());
  EXPECT_EQ(installer.InstalledBuild(), "9000002");
  EXPECT_TRUE(fs::exists(layout_.installation_dir() + "/9000001/srcds_run"));
  EXPECT_THAT(update->removed_build_ids(), IsEmpty());
  // Once unpinned, the old build goes with the next install.
  SetSwitch("public_buildid", "9000003");
  absl::StatusOr<v1::InstallResult> next = Install(installer, "op-3", {});
  ASSERT_TRUE(next.ok());
  EXPECT_THAT(next->removed_build_ids(), Contains("9000001"));
  EXPECT_THAT(next->removed_build_ids(), Contains("9000002"));
  EXPECT_FALSE(fs::exists(layout_.installation_dir() + "/9000001"));
}

TEST_F(InstallerTest, SteamcmdFailureKeepsThePreviousInstallAndItsText) {
  Installer installer(layout_, runner_, Clock::Real(), Options());
  ASSERT_TRUE(Install(installer, "op-1").ok());
  SetSwitch("public_buildid", "9000002");
  SetSwitch("fail", "Disk write failure");
  absl::StatusOr<v1::InstallResult> failed = Install(installer, "op-2");
  EXPECT_EQ(failed.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(failed.status().message(),
              HasSubstr("Failed to install app '222860' (Disk write failure)"));
  EXPECT_EQ(installer.InstalledBuild(), "9000001");
  EXPECT_FALSE(fs::exists(layout_.installation_dir() + "/.staging-op-2"));
}

TEST_F(InstallerTest, AHungSteamcmdIsStoppedAfterTheNoProgressTimeout) {
  InstallerOptions options = Options();
  options.no_progress_timeout = absl::Milliseconds(500);
  Installer installer(layout_, runner_, Clock::Real(), options);
  SetSwitch("hang", "1");
  absl::Time start = absl::Now();
  absl::StatusOr<v1::InstallResult> hung = Install(installer, "op-1");
  EXPECT_EQ(hung.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(hung.status().message(), HasSubstr("made no progress"));
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  EXPECT_EQ(installer.InstalledBuild(), "");
}

TEST_F(InstallerTest, ATruncatedRunIsNotMistakenForSuccess) {
  Installer installer(layout_, runner_, Clock::Real(), Options());
  ASSERT_TRUE(Install(installer, "op-1").ok());
  SetSwitch("public_buildid", "9000002");
  SetSwitch("truncate", "1");
  absl::StatusOr<v1::InstallResult> truncated = Install(installer, "op-2");
  EXPECT_EQ(truncated.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(installer.InstalledBuild(), "9000001");
}

TEST_F(InstallerTest, AnAccountLogsInThroughARunscriptAndNeverShowsThePassword) {
  InstallerOptions options = Options();
  options.account_file = dir_.Sub("account");
  ASSERT_TRUE(WriteFileAtomically(options.account_file, "operator\nPa55-w0rd!\n", 0600).ok());
  SetSwitch("account", "operator:Pa55-w0rd!");
  Installer installer(layout_, runner_, Clock::Real(), options);
  v1::InstallRequest request;
  request.set_use_steam_account(true);
  absl::StatusOr<v1::InstallResult> result = Install(installer, "op-1", {}, request);
  ASSERT_TRUE(result.ok()) << result.status() << EventsText();
  EXPECT_THAT(EventsText(), Not(HasSubstr("Pa55-w0rd!")));
  EXPECT_THAT(EventsText(), HasSubstr("Logging in user 'operator'"));
  // The runscript holding the password is gone.
  EXPECT_TRUE(fs::is_empty(layout_.tmp_dir()));
}

TEST_F(InstallerTest, AWrongAccountPasswordFailsCleanly) {
  InstallerOptions options = Options();
  options.account_file = dir_.Sub("account");
  ASSERT_TRUE(WriteFileAtomically(options.account_file, "operator\nwrong\n", 0600).ok());
  SetSwitch("account", "operator:right");
  Installer installer(layout_, runner_, Clock::Real(), options);
  v1::InstallRequest request;
  request.set_use_steam_account(true);
  absl::StatusOr<v1::InstallResult> result = Install(installer, "op-1", {}, request);
  EXPECT_EQ(result.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(result.status().message(), HasSubstr("Invalid Password"));
  EXPECT_THAT(result.status().message(), Not(HasSubstr("wrong")));
}

TEST_F(InstallerTest, BadRequestsChangeNothing) {
  Installer installer(layout_, runner_, Clock::Real(), Options());
  v1::InstallRequest request;
  request.set_branch("-beta; rm -rf /");
  EXPECT_EQ(Install(installer, "op-1", {}, request).status().code(),
            absl::StatusCode::kInvalidArgument);
  request.set_branch("");
  request.set_use_steam_account(true);
  EXPECT_EQ(Install(installer, "op-1", {}, request).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(installer.InstalledBuild(), "");
}

TEST_F(InstallerTest, CheckForUpdateComparesInstalledAndPublic) {
  Installer installer(layout_, runner_, Clock::Real(), Options());
  ASSERT_TRUE(Install(installer, "op-1").ok());
  absl::StatusOr<v1::CheckForUpdateResponse> same = installer.CheckForUpdate("");
  ASSERT_TRUE(same.ok()) << same.status();
  EXPECT_FALSE(same->update_available());
  SetSwitch("public_buildid", "9000009");
  absl::StatusOr<v1::CheckForUpdateResponse> newer = installer.CheckForUpdate("");
  ASSERT_TRUE(newer.ok());
  EXPECT_TRUE(newer->update_available());
  EXPECT_EQ(newer->installed_build_id(), "9000001");
  EXPECT_EQ(newer->latest_build_id(), "9000009");
}

}  // namespace
}  // namespace l4d2::agent
