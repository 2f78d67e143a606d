#include "common/names.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/hostile_values.h"

namespace l4d2 {
namespace {

TEST(ValidateInstanceNameTest, AcceptsValidNames) {
  for (const char* name : {"s1", "0", "coop-1", "a_b-c", "versus_2024"}) {
    EXPECT_TRUE(ValidateInstanceName(name).ok()) << name;
  }
  EXPECT_TRUE(ValidateInstanceName(std::string(64, 'a')).ok());
}

TEST(ValidateInstanceNameTest, RejectsHostileNames) {
  std::vector<std::string> values = l4d2::testing::HostileValues();
  values.push_back("a.b");
  values.push_back("a/b");
  values.push_back(std::string(65, 'a'));
  ASSERT_GE(values.size(), 200u);
  for (const std::string& value : values) {
    absl::Status status = ValidateInstanceName(value);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << "accepted: " << value;
  }
}

TEST(ValidateInstanceNameTest, MessagesEscapeTheValue) {
  absl::Status status = ValidateInstanceName("a\nb");
  EXPECT_THAT(status.message(), ::testing::HasSubstr("'a\\nb'"));
  EXPECT_EQ(status.message().find('\n'), absl::string_view::npos);
}

TEST(ValidateOverlayRefTest, AcceptsValidRefs) {
  for (const char* ref : {"standard", "competitive/base", "users/42/maps", "a.b/c-d_e", "1"}) {
    EXPECT_TRUE(ValidateOverlayRef(ref).ok()) << ref;
  }
}

TEST(ValidateOverlayRefTest, RejectsHostileRefs) {
  std::vector<std::string> values = l4d2::testing::HostileValues();
  values.push_back("a/b/c/d/e/f/g/h/i");  // 9 components.
  values.push_back("a/.hidden");
  values.push_back("a/..");
  for (const std::string& value : values) {
    EXPECT_EQ(ValidateOverlayRef(value).code(), absl::StatusCode::kInvalidArgument)
        << "accepted: " << value;
  }
}

// Issue "Isolation": an inline file at srcds_run with mode 0777 replaced what the game runs,
// world-writable. Modes are 0644 or 0755 and the game's own programs are out of reach.
TEST(ValidateInlineFileTest, AllowsReadableFilesAndExecutablesOutsideTheGamesOwn) {
  for (uint32_t mode : {0u, 0644u, 0755u}) {
    EXPECT_TRUE(ValidateInlineFile("left4dead2/cfg/server.cfg", mode).ok()) << mode;
  }
  EXPECT_TRUE(
      ValidateInlineFile("left4dead2/addons/sourcemod/bin/sourcemod_mm_i486.so", 0644).ok());
  EXPECT_TRUE(ValidateInlineFile("binaries.txt", 0644).ok());
  for (uint32_t mode : {0777u, 0666u, 0775u, 04755u, 02755u, 0600u, 01000u, 0100644u}) {
    absl::Status refused = ValidateInlineFile("left4dead2/cfg/x.cfg", mode);
    EXPECT_EQ(refused.code(), absl::StatusCode::kInvalidArgument) << mode;
    EXPECT_THAT(refused.message(), ::testing::HasSubstr("0644 or 0755")) << mode;
  }
  for (const char* path :
       {"srcds_run", "srcds_linux", "bin/engine_srv.so", "bin", "left4dead2/bin/server_srv.so"}) {
    absl::Status refused = ValidateInlineFile(path, 0644);
    EXPECT_EQ(refused.code(), absl::StatusCode::kInvalidArgument) << path;
    EXPECT_THAT(refused.message(), ::testing::HasSubstr("game's own programs")) << path;
  }
  EXPECT_EQ(ValidateInlineFile("../srcds_run", 0644).code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace l4d2
