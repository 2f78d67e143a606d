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

}  // namespace
}  // namespace l4d2
