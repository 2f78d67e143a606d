#pragma once

// Valve's server query protocol (A2S) as the Source engine speaks it over UDP, little-endian.
// Pure encoding and decoding; the socket lives in agent/os (GameClient).
//
// L4D2 answers A2S_INFO and A2S_PLAYER only after the challenge handshake: the first request
// gets 0x41 + a 4-byte challenge, and the request repeated with that challenge gets the reply.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace l4d2::agent {

// The challenge value that asks the server for a challenge.
inline constexpr uint32_t kA2sNoChallenge = 0xFFFFFFFFu;

struct A2sInfo {
  uint8_t protocol = 0;
  std::string name;
  std::string map;
  std::string folder;
  std::string game;
  uint16_t app_id = 0;
  uint8_t players = 0;
  uint8_t max_players = 0;
  uint8_t bots = 0;
  char server_type = 0;  // 'd' dedicated, 'l' listen, 'p' SourceTV.
  char environment = 0;  // 'l' Linux, 'w' Windows, 'm'/'o' macOS.
  bool password = false;
  bool vac = false;
  std::string version;
  // Extra data, present when the server sends it.
  std::optional<uint16_t> port;
  std::optional<uint64_t> steam_id;
  std::optional<std::string> keywords;
  std::optional<uint64_t> game_id;
};

struct A2sPlayer {
  std::string name;
  int32_t score = 0;
  float duration_seconds = 0;
};

struct A2sReply {
  enum class Kind { kChallenge, kInfo, kPlayers };
  Kind kind = Kind::kChallenge;
  uint32_t challenge = 0;
  A2sInfo info;
  std::vector<A2sPlayer> players;
};

// The header of one part of a reply split over several packets (FE FF FF FF).
struct A2sSplitPart {
  uint32_t id = 0;
  uint8_t total = 0;
  uint8_t number = 0;
  std::string payload;
};

std::string BuildA2sInfoRequest(std::optional<uint32_t> challenge);
std::string BuildA2sPlayerRequest(uint32_t challenge);

// True for a packet that starts with the split header.
bool IsA2sSplitPacket(absl::string_view packet);
// INVALID_ARGUMENT for a truncated header or a compressed reply (never sent by L4D2).
absl::StatusOr<A2sSplitPart> ParseA2sSplitPart(absl::string_view packet);

// Parses a single-packet reply (FF FF FF FF + kind). INVALID_ARGUMENT for truncated or unknown
// replies, with what was wrong.
absl::StatusOr<A2sReply> ParseA2sReply(absl::string_view packet);

}  // namespace l4d2::agent
