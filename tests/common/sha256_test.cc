#include "common/sha256.h"

#include <string>

#include "gtest/gtest.h"

namespace l4d2 {
namespace {

TEST(Sha256Test, DigestsAreLowercaseHexAndRecognisedAsSuch) {
  Sha256 digest;
  digest.Update("abc");
  const std::string hex = digest.HexDigest();
  EXPECT_EQ(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_TRUE(IsSha256Hex(hex));
  EXPECT_FALSE(IsSha256Hex(hex.substr(1)));
  EXPECT_FALSE(IsSha256Hex(hex + "0"));
  EXPECT_FALSE(IsSha256Hex(std::string(64, 'A')));
  EXPECT_FALSE(IsSha256Hex(std::string(62, 'a') + "/."));
}

}  // namespace
}  // namespace l4d2
