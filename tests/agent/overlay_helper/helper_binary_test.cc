// The left4me-overlay program and the agent refuse every hostile name before touching
// anything (the helper's checks run before any privileged call, so this needs no root).

#include <sys/wait.h>

#include <filesystem>

#include "gtest/gtest.h"
#include "tests/testing/child_process.h"
#include "tests/testing/hostile_values.h"
#include "tests/testing/temp_dir.h"

namespace l4d2::testing {
namespace {

TEST(OverlayHelperBinaryTest, RefusesHostileNamesAndTouchesNothing) {
  TempDir root;
  std::vector<std::string> names = HostileValues();
  names.push_back("a.b");
  names.push_back("a/b");
  ASSERT_GE(names.size(), 200u);
  int refused = 0;
  for (const std::string& name : names) {
    if (name.find('\0') != std::string::npos) continue;  // Cannot be an argv element.
    for (const char* verb : {"mount", "unmount"}) {
      int status = 0;
      absl::StatusOr<std::string> output = RunToCompletion(
          {.argv = {L4D2_OVERLAY_HELPER, "--root", root.path(), verb, name}}, &status);
      ASSERT_TRUE(output.ok());
      EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 1)
          << verb << " '" << name << "': " << *output;
      refused += WIFEXITED(status) && WEXITSTATUS(status) == 1;
    }
  }
  EXPECT_TRUE(std::filesystem::is_empty(root.path()));
  std::cout << "[ figure ] overlay helper refused " << refused << " hostile mount/unmount calls\n";
}

TEST(OverlayHelperBinaryTest, UsageErrorsExitTwo) {
  int status = 0;
  for (std::vector<std::string> argv :
       {std::vector<std::string>{L4D2_OVERLAY_HELPER},
        {L4D2_OVERLAY_HELPER, "remount", "s1"},
        {L4D2_OVERLAY_HELPER, "--root", "relative", "mount", "s1"}}) {
    ASSERT_TRUE(RunToCompletion({.argv = argv}, &status).ok());
    EXPECT_EQ(WEXITSTATUS(status), 2);
  }
}

}  // namespace
}  // namespace l4d2::testing
