#include "agent/config/agent_programs.h"

#include <map>
#include <set>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/version.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace l4d2::agent {
namespace {

using ::testing::HasSubstr;

// An executable predicate over a fixed set of paths, recording what it was asked.
struct Files {
  std::set<std::string> present;
  std::set<std::string> asked;
  std::function<bool(const std::string&)> Executable() {
    return [this](const std::string& path) {
      asked.insert(path);
      return present.count(path) > 0;
    };
  }
};

TEST(AgentProgramsTest, DefaultsAreTheInstalledHelpers) {
  const AgentPrograms programs = ResolvePrograms(AgentConfig{});
  EXPECT_EQ(programs.overlay_command,
            absl::StrCat("+/usr/bin/nsenter --mount=/proc/1/ns/mnt -- ", kInstalledOverlayHelper));
  EXPECT_EQ(programs.console_helper, kInstalledConsoleHelper);
  EXPECT_EQ(programs.fetch_helper, kInstalledFetchHelper);
}

TEST(AgentProgramsTest, ConfiguredHelpersWin) {
  AgentConfig config;
  config.overlay_helper = "/opt/l/left4me-overlay";
  config.console_helper = "/opt/l/left4me-console";
  config.fetch_helper = "/opt/l/left4me-fetch";
  const AgentPrograms programs = ResolvePrograms(config);
  EXPECT_EQ(programs.overlay_command, "/opt/l/left4me-overlay");
  EXPECT_EQ(programs.console_helper, "/opt/l/left4me-console");
  EXPECT_EQ(programs.fetch_helper, "/opt/l/left4me-fetch");
}

TEST(AgentProgramsTest, AllPresentIsOkAndTheWrapperAndItsHelperAreBothChecked) {
  const AgentPrograms programs{
      .overlay_command = "+/usr/bin/nsenter --mount=/proc/1/ns/mnt -- /x/left4me-overlay",
      .console_helper = "/x/left4me-console",
      .fetch_helper = "/x/left4me-fetch"};
  Files files{.present = {"/usr/bin/nsenter", "/x/left4me-overlay", "/x/left4me-console",
                          "/x/left4me-fetch"}};
  EXPECT_TRUE(CheckPrograms(programs, files.Executable()).ok());
  EXPECT_EQ(files.asked, files.present);
}

TEST(AgentProgramsTest, EachMissingHelperIsNamedWithItsConfigKey) {
  const AgentPrograms programs{
      .overlay_command = "+/usr/bin/nsenter --mount=/proc/1/ns/mnt -- /x/left4me-overlay",
      .console_helper = "/x/left4me-console",
      .fetch_helper = "/x/left4me-fetch"};
  const std::set<std::string> all = {"/usr/bin/nsenter", "/x/left4me-overlay", "/x/left4me-console",
                                     "/x/left4me-fetch"};
  const std::map<std::string, std::string> key_of = {
      {"/usr/bin/nsenter", "systemd.overlay_helper"},
      {"/x/left4me-overlay", "systemd.overlay_helper"},
      {"/x/left4me-console", "systemd.console_helper"},
      {"/x/left4me-fetch", "fetch_helper"}};
  for (const std::string& missing : all) {
    Files files{.present = all};
    files.present.erase(missing);
    const absl::Status status = CheckPrograms(programs, files.Executable());
    EXPECT_TRUE(absl::IsFailedPrecondition(status)) << missing << ": " << status;
    EXPECT_THAT(status.message(), HasSubstr(absl::StrCat(key_of.at(missing), ": '", missing, "'")));
    EXPECT_THAT(status.message(), HasSubstr("missing or not executable"));
  }
}

TEST(AgentProgramsTest, AHelperGivenAsACommandWithoutAWrapperIsCheckedOnce) {
  const AgentPrograms programs{
      .overlay_command = "/x/left4me-overlay", .console_helper = "/x/c", .fetch_helper = "/x/f"};
  Files files{.present = {"/x/c", "/x/f"}};
  const absl::Status status = CheckPrograms(programs, files.Executable());
  EXPECT_THAT(status.message(), HasSubstr("systemd.overlay_helper: '/x/left4me-overlay'"));
}

TEST(AgentProgramsTest, ARelativeOrEmptyProgramIsRefusedWithoutAsking) {
  Files files;
  const absl::Status status = CheckPrograms(
      {.overlay_command = "sudo left4me-overlay", .console_helper = "/c", .fetch_helper = "/f"},
      files.Executable());
  EXPECT_TRUE(absl::IsFailedPrecondition(status));
  EXPECT_THAT(status.message(), HasSubstr("'sudo'"));
  EXPECT_TRUE(files.asked.empty());
}

}  // namespace
}  // namespace l4d2::agent
