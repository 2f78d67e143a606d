#include "agent/game/rcon.h"

#include "gtest/gtest.h"

namespace l4d2::agent {
namespace {

TEST(RconTest, EncodesAsTheProtocolDefines) {
  absl::StatusOr<std::string> bytes = EncodeRconPacket({7, kRconAuth, "pw"});
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ(*bytes, std::string("\x0c\0\0\0\x07\0\0\0\x03\0\0\0pw\0\0", 16));
}

TEST(RconTest, RefusesOversizedBodies) {
  EXPECT_FALSE(EncodeRconPacket({1, kRconExecCommand, std::string(4097, 'x')}).ok());
  EXPECT_TRUE(EncodeRconPacket({1, kRconExecCommand, std::string(4096, 'x')}).ok());
}

TEST(RconTest, DecodesAcrossArbitraryChunkBoundaries) {
  std::string stream = *EncodeRconPacket({1, kRconResponseValue, "hello"}) +
                       *EncodeRconPacket({2, kRconAuthResponse, ""}) +
                       *EncodeRconPacket({3, kRconResponseValue, std::string("\0\x01\0\0", 4)});
  for (size_t chunk = 1; chunk <= stream.size(); ++chunk) {
    RconDecoder decoder;
    std::vector<RconPacket> packets;
    for (size_t at = 0; at < stream.size(); at += chunk) {
      decoder.Append(absl::string_view(stream).substr(at, chunk));
      while (true) {
        auto next = decoder.Next();
        ASSERT_TRUE(next.ok());
        if (!next->has_value()) break;
        packets.push_back(**next);
      }
    }
    ASSERT_EQ(packets.size(), 3u) << "chunk " << chunk;
    EXPECT_EQ(packets[0].body, "hello");
    EXPECT_EQ(packets[1].type, kRconAuthResponse);
    EXPECT_EQ(packets[1].body, "");
    EXPECT_EQ(packets[2].body, std::string("\0\x01\0\0", 4));
  }
}

TEST(RconTest, RejectsSizesOutOfRange) {
  RconDecoder decoder;
  decoder.Append(std::string("\x05\0\0\0", 4));
  EXPECT_FALSE(decoder.Next().ok());
  RconDecoder huge;
  huge.Append(std::string("\xff\xff\0\0", 4));
  EXPECT_FALSE(huge.Next().ok());
}

}  // namespace
}  // namespace l4d2::agent
