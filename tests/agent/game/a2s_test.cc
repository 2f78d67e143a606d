#include "agent/game/a2s.h"

#include <string>

#include "gtest/gtest.h"

namespace l4d2::agent {
namespace {

std::string Bytes(std::initializer_list<int> values) {
  std::string out;
  for (int v : values) out.push_back(static_cast<char>(v));
  return out;
}

TEST(A2sTest, BuildsRequestsAsTheProtocolDefines) {
  EXPECT_EQ(
      BuildA2sInfoRequest(std::nullopt),
      Bytes({0xFF, 0xFF, 0xFF, 0xFF, 0x54}) + std::string("Source Engine Query", 19) + Bytes({0}));
  EXPECT_EQ(BuildA2sInfoRequest(0x4A0C2E6Bu).substr(25), Bytes({0x6B, 0x2E, 0x0C, 0x4A}));
  EXPECT_EQ(BuildA2sPlayerRequest(kA2sNoChallenge),
            Bytes({0xFF, 0xFF, 0xFF, 0xFF, 0x55, 0xFF, 0xFF, 0xFF, 0xFF}));
}

TEST(A2sTest, ParsesAChallenge) {
  absl::StatusOr<A2sReply> reply =
      ParseA2sReply(Bytes({0xFF, 0xFF, 0xFF, 0xFF, 0x41, 0x4A, 0x0C, 0x2E, 0x6B}));
  ASSERT_TRUE(reply.ok());
  EXPECT_EQ(reply->kind, A2sReply::Kind::kChallenge);
  EXPECT_EQ(reply->challenge, 0x6B2E0C4Au);
}

// The A2S_INFO example reply of the Valve Developer Wiki ("Server queries").
TEST(A2sTest, ParsesTheWikiInfoReply) {
  std::string packet = Bytes({0xFF, 0xFF, 0xFF, 0xFF, 0x49, 0x02});
  packet += std::string("game2xs.com Counter-Strike Source #1") + '\0' + "de_dust" + '\0' +
            "cstrike" + '\0' + "Counter-Strike: Source" + '\0';
  packet += Bytes({0xF0, 0x00, 0x05, 0x10, 0x04, 0x64, 0x6C, 0x00, 0x00});
  packet += std::string("1.0.0.22") + '\0';
  absl::StatusOr<A2sReply> reply = ParseA2sReply(packet);
  ASSERT_TRUE(reply.ok()) << reply.status();
  ASSERT_EQ(reply->kind, A2sReply::Kind::kInfo);
  const A2sInfo& info = reply->info;
  EXPECT_EQ(info.protocol, 2);
  EXPECT_EQ(info.name, "game2xs.com Counter-Strike Source #1");
  EXPECT_EQ(info.map, "de_dust");
  EXPECT_EQ(info.folder, "cstrike");
  EXPECT_EQ(info.app_id, 240);
  EXPECT_EQ(info.players, 5);
  EXPECT_EQ(info.max_players, 16);
  EXPECT_EQ(info.bots, 4);
  EXPECT_EQ(info.server_type, 'd');
  EXPECT_EQ(info.environment, 'l');
  EXPECT_FALSE(info.password);
  EXPECT_EQ(info.version, "1.0.0.22");
  EXPECT_FALSE(info.port.has_value());
}

TEST(A2sTest, ParsesExtraDataFlags) {
  std::string packet = Bytes({0xFF, 0xFF, 0xFF, 0xFF, 0x49, 17});
  packet += std::string("n") + '\0' + "m" + '\0' + "left4dead2" + '\0' + "Left 4 Dead 2" + '\0';
  packet += Bytes({0x26, 0x02, 1, 8, 0, 'd', 'l', 1, 1});
  packet += std::string("2.2.4.2") + '\0';
  packet += Bytes({0x80 | 0x10 | 0x20 | 0x01, 0x87, 0x69});
  packet += Bytes({1, 2, 3, 4, 5, 6, 7, 8});
  packet += std::string("coop,empty") + '\0';
  packet += Bytes({0x26, 0x02, 0, 0, 0, 0, 0, 0});
  absl::StatusOr<A2sReply> reply = ParseA2sReply(packet);
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(reply->info.app_id, 550);
  EXPECT_TRUE(reply->info.password);
  EXPECT_EQ(*reply->info.port, 27015);
  EXPECT_EQ(*reply->info.steam_id, 0x0807060504030201ull);
  EXPECT_EQ(*reply->info.keywords, "coop,empty");
  EXPECT_EQ(*reply->info.game_id, 550u);
}

TEST(A2sTest, ParsesPlayers) {
  std::string packet = Bytes({0xFF, 0xFF, 0xFF, 0xFF, 0x44, 2});
  packet += Bytes({0}) + "Alice" + '\0' + Bytes({10, 0, 0, 0}) + Bytes({0x00, 0x00, 0x20, 0x41});
  packet +=
      Bytes({0}) + "Bob" + '\0' + Bytes({0xFF, 0xFF, 0xFF, 0xFF}) + Bytes({0x00, 0x00, 0x80, 0x3F});
  absl::StatusOr<A2sReply> reply = ParseA2sReply(packet);
  ASSERT_TRUE(reply.ok()) << reply.status();
  ASSERT_EQ(reply->players.size(), 2u);
  EXPECT_EQ(reply->players[0].name, "Alice");
  EXPECT_EQ(reply->players[0].score, 10);
  EXPECT_FLOAT_EQ(reply->players[0].duration_seconds, 10.0f);
  EXPECT_EQ(reply->players[1].score, -1);
  EXPECT_FLOAT_EQ(reply->players[1].duration_seconds, 1.0f);
}

TEST(A2sTest, RejectsTruncatedAndForeignPackets) {
  EXPECT_FALSE(ParseA2sReply(Bytes({0xFF, 0xFF, 0xFF})).ok());
  EXPECT_FALSE(ParseA2sReply(Bytes({0xFF, 0xFF, 0xFF, 0xFF, 0x41, 1})).ok());
  EXPECT_FALSE(ParseA2sReply(Bytes({0xFF, 0xFF, 0xFF, 0xFF, 0x49, 17, 'a'})).ok());
  EXPECT_FALSE(ParseA2sReply(Bytes({0xFF, 0xFF, 0xFF, 0xFF, 0x44, 3, 0, 'x', 0})).ok());
  EXPECT_FALSE(ParseA2sReply(Bytes({0xFF, 0xFF, 0xFF, 0xFF, 0x99})).ok());
  EXPECT_FALSE(ParseA2sReply(Bytes({0x00, 0xFF, 0xFF, 0xFF, 0x49})).ok());
}

TEST(A2sTest, ParsesSplitHeadersAndRefusesCompression) {
  std::string part = Bytes({0xFE, 0xFF, 0xFF, 0xFF, 0x01, 0, 0, 0, 2, 1, 0xE0, 0x04}) + "tail";
  ASSERT_TRUE(IsA2sSplitPacket(part));
  absl::StatusOr<A2sSplitPart> parsed = ParseA2sSplitPart(part);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->id, 1u);
  EXPECT_EQ(parsed->total, 2);
  EXPECT_EQ(parsed->number, 1);
  EXPECT_EQ(parsed->payload, "tail");
  EXPECT_FALSE(ParseA2sSplitPart(Bytes({0xFE, 0xFF, 0xFF, 0xFF, 1, 0, 0, 0x80, 2, 0, 0, 0})).ok());
  EXPECT_FALSE(ParseA2sSplitPart(Bytes({0xFE, 0xFF, 0xFF, 0xFF, 1, 0, 0, 0, 2, 2, 0, 0})).ok());
}

}  // namespace
}  // namespace l4d2::agent
