#include "controller/auth/password.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace l4d2::controller {
namespace {

TEST(PasswordTest, HashesWithArgon2idAndVerifies) {
  absl::StatusOr<std::string> hash =
      HashPassword("correct horse battery staple", PasswordCost::Minimal());
  ASSERT_TRUE(hash.ok()) << hash.status();
  EXPECT_THAT(*hash, ::testing::StartsWith("$argon2id$"));
  EXPECT_TRUE(VerifyPassword(*hash, "correct horse battery staple"));
  EXPECT_FALSE(VerifyPassword(*hash, "correct horse battery stapl"));
  EXPECT_FALSE(VerifyPassword("not a hash", "correct horse battery staple"));
  // A salt per hash.
  EXPECT_NE(*hash, *HashPassword("correct horse battery staple", PasswordCost::Minimal()));
}

TEST(PasswordTest, RulesForNewPasswords) {
  EXPECT_TRUE(ValidatePassword("twelve chars").ok());
  EXPECT_EQ(ValidatePassword("short").code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidatePassword(std::string(1025, 'x')).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidatePassword(std::string("twelve\0chars!", 13)).code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace l4d2::controller
