#pragma once

// Source RCON packets (TCP, little-endian): int32 size, int32 id, int32 type, body, NUL, NUL;
// size counts everything after itself (body length + 10). Pure encoding and a streaming
// decoder; the connection lives in agent/os (GameClient).

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace l4d2::agent {

inline constexpr int32_t kRconResponseValue = 0;
inline constexpr int32_t kRconExecCommand = 2;
inline constexpr int32_t kRconAuthResponse = 2;
inline constexpr int32_t kRconAuth = 3;
inline constexpr size_t kRconMaxBody = 4096;

struct RconPacket {
  int32_t id = 0;
  int32_t type = 0;
  // Bytes up to the body's terminating NUL (a body may itself hold NULs, e.g. the server's
  // 00 01 00 00 packet after a terminator).
  std::string body;
};

// INVALID_ARGUMENT when the body exceeds kRconMaxBody.
absl::StatusOr<std::string> EncodeRconPacket(const RconPacket& packet);

// Accumulates bytes from the stream and yields whole packets. A size outside [10, 4106] is
// INVALID_ARGUMENT: the stream cannot be trusted after it.
class RconDecoder {
 public:
  void Append(absl::string_view bytes) { buffer_.append(bytes.data(), bytes.size()); }
  // The next complete packet, or nullopt when more bytes are needed.
  absl::StatusOr<std::optional<RconPacket>> Next();

 private:
  std::string buffer_;
};

}  // namespace l4d2::agent
