// The fake steamcmd behaves like the real one where the agent depends on it: argument syntax,
// the anonymous platform failure and its workaround, progress lines, the install tree, the
// app manifest, app_info_print, and the failure switches.

#include <sys/stat.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <regex>

#include "agent/steam/keyvalues.h"
#include "common/file_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/child_process.h"
#include "tests/testing/temp_dir.h"

namespace l4d2::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class FakeSteamcmdTest : public ::testing::Test {
 protected:
  std::string Run(std::vector<std::string> args, int* exit_code,
                  std::map<std::string, std::string> env = {}) {
    args.insert(args.begin(), L4D2_FAKE_STEAMCMD);
    env["HOME"] = dir_.Sub("home");
    env["FAKE_STEAMCMD_STATE"] = dir_.Sub("state");
    int status = 0;
    absl::StatusOr<std::string> output = RunToCompletion({.argv = args, .env = env}, &status);
    EXPECT_TRUE(output.ok()) << output.status();
    *exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return output.ok() ? *output : "";
  }

  std::string Install(std::map<std::string, std::string> env = {}) {
    int code = 0;
    Run({"+force_install_dir", install_, "+login", "anonymous", "+@sSteamCmdForcePlatformType",
         "windows", "+app_update", "222860", "+quit"},
        &code, env);
    EXPECT_EQ(code, 0);
    std::string output =
        Run({"+force_install_dir", install_, "+login", "anonymous", "+@sSteamCmdForcePlatformType",
             "linux", "+app_update", "222860", "validate", "+quit"},
            &code, env);
    EXPECT_EQ(code, 0) << output;
    return output;
  }

  std::string Manifest() const { return install_ + "/steamapps/appmanifest_222860.acf"; }

  TempDir dir_;
  std::string install_ = dir_.Sub("install");
};

TEST_F(FakeSteamcmdTest, AnonymousLinuxInstallFailsWithInvalidPlatform) {
  int code = 0;
  std::string output = Run({"+force_install_dir", install_, "+login", "anonymous", "+app_update",
                            "222860", "validate", "+quit"},
                           &code);
  EXPECT_NE(code, 0);
  EXPECT_THAT(output, HasSubstr("ERROR! Failed to install app '222860' (Invalid platform)"));
  EXPECT_FALSE(std::filesystem::exists(Manifest()));
}

TEST_F(FakeSteamcmdTest, PlatformWorkaroundInstallsABuildWithProgress) {
  std::string output = Install();
  EXPECT_THAT(output, HasSubstr("Success! App '222860' fully installed."));
  absl::StatusOr<std::string> manifest = ReadFileToString(Manifest());
  ASSERT_TRUE(manifest.ok());
  absl::StatusOr<std::string> build = agent::ParseAppManifestBuildId(*manifest);
  ASSERT_TRUE(build.ok()) << build.status();
  EXPECT_EQ(*build, "9000001");

  // Progress lines in steamcmd's format, rising to 100%.
  std::regex progress(
      R"( Update state \(0x[0-9a-f]+\) ([a-z ]+), progress: ([0-9]+\.[0-9]{2}) \(([0-9]+) / ([0-9]+)\))");
  int lines = 0;
  double last_download = -1;
  for (std::sregex_iterator it(output.begin(), output.end(), progress), end; it != end; ++it) {
    ++lines;
    if ((*it)[1] == "downloading") {
      double percent = std::stod((*it)[2]);
      EXPECT_GE(percent, last_download);
      last_download = percent;
      EXPECT_LE(std::stoull((*it)[3]), std::stoull((*it)[4]));
    }
  }
  EXPECT_GE(lines, 4);
  EXPECT_DOUBLE_EQ(last_download, 100.0);

  // The install tree a server runs from.
  struct stat st;
  ASSERT_EQ(stat((install_ + "/srcds_run").c_str(), &st), 0);
  EXPECT_TRUE(st.st_mode & S_IXUSR);
  EXPECT_TRUE(std::filesystem::exists(install_ + "/srcds_linux"));
  EXPECT_TRUE(std::filesystem::exists(install_ + "/left4dead2/maps/c1m1_hotel.bsp"));
  EXPECT_TRUE(std::filesystem::is_directory(install_ + "/left4dead2/addons"));
  EXPECT_TRUE(std::filesystem::exists(dir_.Sub("home/.steam/steamcmd/linux32/steamclient.so")));
}

TEST_F(FakeSteamcmdTest, AppInfoPrintShowsTheNewestPublicBuild) {
  int code = 0;
  std::string output =
      Run({"+login", "anonymous", "+app_info_update", "1", "+app_info_print", "222860", "+quit"},
          &code, {{"FAKE_STEAMCMD_PUBLIC_BUILDID", "9000042"}});
  ASSERT_EQ(code, 0);
  size_t start = output.find("\"222860\"");
  size_t end = output.find("Unloading Steam API");
  ASSERT_NE(start, std::string::npos);
  absl::StatusOr<agent::KeyValues> info = agent::ParseKeyValues(output.substr(start, end - start));
  ASSERT_TRUE(info.ok()) << info.status();
  const agent::KeyValues* build =
      info->FindPath({"222860", "depots", "branches", "public", "buildid"});
  ASSERT_NE(build, nullptr);
  EXPECT_EQ(build->value, "9000042");
}

TEST_F(FakeSteamcmdTest, PublishingANewerBuildUpdatesTheInstall) {
  Install();
  int code = 0;
  std::string again =
      Run({"+force_install_dir", install_, "+login", "anonymous", "+app_update", "222860", "+quit"},
          &code);
  EXPECT_THAT(again, HasSubstr("already up to date"));
  std::filesystem::create_directories(dir_.Sub("state"));
  std::ofstream(dir_.Sub("state/public_buildid")) << "9000002\n";
  std::string update =
      Run({"+force_install_dir", install_, "+login", "anonymous", "+app_update", "222860", "+quit"},
          &code);
  EXPECT_EQ(code, 0);
  EXPECT_THAT(update, HasSubstr("fully installed"));
  EXPECT_EQ(*agent::ParseAppManifestBuildId(*ReadFileToString(Manifest())), "9000002");
}

TEST_F(FakeSteamcmdTest, FailSwitchFailsWithSteamcmdsOwnText) {
  Install();
  int code = 0;
  std::string output = Run({"+force_install_dir", install_, "+login", "anonymous", "+app_update",
                            "222860", "validate", "+quit"},
                           &code, {{"FAKE_STEAMCMD_FAIL", "Disk write failure"}});
  EXPECT_EQ(code, 8);
  EXPECT_THAT(output, HasSubstr("ERROR! Failed to install app '222860' (Disk write failure)"));
  EXPECT_THAT(output, Not(HasSubstr("Success!")));
}

TEST_F(FakeSteamcmdTest, TruncateSwitchEndsWithoutSuccessOrManifest) {
  int code = 0;
  std::string output =
      Run({"+force_install_dir", install_, "+login", "anonymous", "+@sSteamCmdForcePlatformType",
           "windows", "+app_update", "222860", "+quit"},
          &code, {{"FAKE_STEAMCMD_TRUNCATE", "1"}});
  EXPECT_EQ(code, 0);
  EXPECT_THAT(output, Not(HasSubstr("Success!")));
  EXPECT_FALSE(std::filesystem::exists(Manifest()));
}

TEST_F(FakeSteamcmdTest, HangSwitchHangsAfterTheFirstProgressLine) {
  absl::StatusOr<std::unique_ptr<ChildProcess>> child = ChildProcess::Start(
      {.argv = {L4D2_FAKE_STEAMCMD, "+force_install_dir", install_, "+login", "anonymous",
                "+@sSteamCmdForcePlatformType", "windows", "+app_update", "222860", "+quit"},
       .env = {{"HOME", dir_.Sub("home")}, {"FAKE_STEAMCMD_HANG", "1"}}});
  ASSERT_TRUE(child.ok());
  ASSERT_TRUE((*child)->WaitForOutput("downloading, progress: 0.00"));
  EXPECT_EQ((*child)->Wait(absl::Milliseconds(300)).status().code(),
            absl::StatusCode::kDeadlineExceeded);
}

TEST_F(FakeSteamcmdTest, AccountLoginFromARunscriptNeedsTheRightPassword) {
  std::filesystem::create_directories(dir_.Sub("s"));
  std::ofstream(dir_.Sub("s/good.txt"))
      << "force_install_dir " << install_ << "\nlogin operator s3cret\napp_update 222860\nquit\n";
  std::ofstream(dir_.Sub("s/bad.txt")) << "login operator wrong\nquit\n";
  int code = 0;
  std::map<std::string, std::string> env{{"FAKE_STEAMCMD_ACCOUNT", "operator:s3cret"}};
  std::string bad = Run({"+runscript", dir_.Sub("s/bad.txt")}, &code, env);
  EXPECT_THAT(bad, HasSubstr("FAILED (Invalid Password)"));
  EXPECT_NE(code, 0);
  // A logged-in account installs for Linux directly, no platform workaround needed.
  std::string good = Run({"+runscript", dir_.Sub("s/good.txt")}, &code, env);
  EXPECT_EQ(code, 0) << good;
  EXPECT_THAT(good, HasSubstr("fully installed"));
  EXPECT_THAT(good, Not(HasSubstr("s3cret")));
}

}  // namespace
}  // namespace l4d2::testing
