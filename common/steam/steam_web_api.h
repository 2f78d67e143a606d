#pragma once

// Reading the Steam Web API's replies ({"response": {...}}), for the agent's Workshop calls and
// the controller's player profiles: the "response" object, and its fields leniently typed
// (Steam sends 64-bit ids as strings, other numbers as numbers).

#include <array>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/struct.pb.h"

namespace l4d2 {

// The reply's "response" object. INVALID_ARGUMENT when the reply is not JSON or has none.
absl::StatusOr<google::protobuf::Struct> ParseSteamWebApiResponse(absl::string_view json);

// `object`'s field `name`, or nullptr.
const google::protobuf::Value* SteamField(const google::protobuf::Struct& object, const char* name);
// A number given as a JSON number or a string of digits; 0 for anything else or nullptr.
uint64_t SteamNumber(const google::protobuf::Value* value);
// A string field; "" for anything else or nullptr.
std::string SteamText(const google::protobuf::Value* value);

// The hosts Steam serves avatars from. The controller keeps no avatar URL elsewhere, and the web
// UI's content security policy (controller/api/headers.h) allows images from these alone.
inline constexpr std::array<absl::string_view, 4> kSteamAvatarOrigins = {
    "https://avatars.steamstatic.com", "https://avatars.akamai.steamstatic.com",
    "https://avatars.cloudflare.steamstatic.com", "https://steamcdn-a.akamaihd.net"};

// Whether `key` looks like a Steam Web API key (32 hexadecimal digits).
bool IsSteamWebApiKey(absl::string_view key);

}  // namespace l4d2
