#include "agent/game/rcon.h"

#include "absl/strings/str_cat.h"

namespace l4d2::agent {
namespace {

void PutInt(std::string* out, int32_t value) {
  uint32_t v = static_cast<uint32_t>(value);
  for (int i = 0; i < 4; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

int32_t GetInt(absl::string_view data, size_t at) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(data[at + i]);
  return static_cast<int32_t>(v);
}

}  // namespace

absl::StatusOr<std::string> EncodeRconPacket(const RconPacket& packet) {
  if (packet.body.size() > kRconMaxBody) {
    return absl::InvalidArgumentError(
        absl::StrCat("rcon: body of ", packet.body.size(), " bytes exceeds ", kRconMaxBody));
  }
  std::string out;
  PutInt(&out, static_cast<int32_t>(packet.body.size() + 10));
  PutInt(&out, packet.id);
  PutInt(&out, packet.type);
  out.append(packet.body);
  out.push_back('\0');
  out.push_back('\0');
  return out;
}

absl::StatusOr<std::optional<RconPacket>> RconDecoder::Next() {
  if (buffer_.size() < 4) return std::nullopt;
  int32_t size = GetInt(buffer_, 0);
  if (size < 10 || size > static_cast<int32_t>(kRconMaxBody + 10)) {
    return absl::InvalidArgumentError(absl::StrCat("rcon: packet size ", size, " out of range"));
  }
  if (buffer_.size() < static_cast<size_t>(size) + 4) return std::nullopt;
  RconPacket packet;
  packet.id = GetInt(buffer_, 4);
  packet.type = GetInt(buffer_, 8);
  // Body: everything between the header and the final two NULs, minus trailing padding.
  packet.body = buffer_.substr(12, static_cast<size_t>(size) - 10);
  if (buffer_[static_cast<size_t>(size) + 2] != '\0' ||
      buffer_[static_cast<size_t>(size) + 3] != '\0') {
    // Not NUL-terminated as the protocol requires; keep what was sent.
    packet.body = buffer_.substr(12, static_cast<size_t>(size) - 8);
  }
  buffer_.erase(0, static_cast<size_t>(size) + 4);
  return packet;
}

}  // namespace l4d2::agent
