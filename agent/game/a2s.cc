#include "agent/game/a2s.h"

#include <cstring>

#include "absl/strings/str_cat.h"

namespace l4d2::agent {
namespace {

constexpr uint8_t kInfoRequest = 0x54;
constexpr uint8_t kPlayerRequest = 0x55;
constexpr uint8_t kChallengeReply = 0x41;
constexpr uint8_t kInfoReply = 0x49;
constexpr uint8_t kPlayerReply = 0x44;

void PutLong(std::string* out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

// Bounds-checked little-endian reader; after the first failure every read fails.
class Reader {
 public:
  explicit Reader(absl::string_view data) : data_(data) {}
  bool ok() const { return ok_; }
  bool done() const { return pos_ >= data_.size(); }

  uint8_t Byte() {
    if (!Need(1)) return 0;
    return static_cast<uint8_t>(data_[pos_++]);
  }
  uint16_t Short() {
    uint16_t lo = Byte();
    return static_cast<uint16_t>(lo | (uint16_t{Byte()} << 8));
  }
  uint32_t Long() {
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v |= uint32_t{Byte()} << (8 * i);
    return v;
  }
  uint64_t LongLong() {
    uint64_t lo = Long();
    return lo | (uint64_t{Long()} << 32);
  }
  float Float() {
    uint32_t bits = Long();
    float v;
    std::memcpy(&v, &bits, sizeof(v));
    return v;
  }
  std::string String() {
    size_t end = data_.find('\0', pos_);
    if (!ok_ || end == absl::string_view::npos) {
      ok_ = false;
      return "";
    }
    std::string s(data_.substr(pos_, end - pos_));
    pos_ = end + 1;
    return s;
  }
  absl::string_view Rest() const { return ok_ ? data_.substr(pos_) : absl::string_view(); }

 private:
  bool Need(size_t n) {
    if (!ok_ || data_.size() - pos_ < n) {
      ok_ = false;
      return false;
    }
    return true;
  }

  absl::string_view data_;
  size_t pos_ = 0;
  bool ok_ = true;
};

absl::Status Truncated(absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("a2s: truncated ", what, " reply"));
}

}  // namespace

std::string BuildA2sInfoRequest(std::optional<uint32_t> challenge) {
  std::string out;
  PutLong(&out, 0xFFFFFFFFu);
  out.push_back(static_cast<char>(kInfoRequest));
  out.append("Source Engine Query");
  out.push_back('\0');
  if (challenge.has_value()) PutLong(&out, *challenge);
  return out;
}

std::string BuildA2sPlayerRequest(uint32_t challenge) {
  std::string out;
  PutLong(&out, 0xFFFFFFFFu);
  out.push_back(static_cast<char>(kPlayerRequest));
  PutLong(&out, challenge);
  return out;
}

bool IsA2sSplitPacket(absl::string_view packet) {
  return packet.size() >= 4 && Reader(packet).Long() == 0xFFFFFFFEu;
}

absl::StatusOr<A2sSplitPart> ParseA2sSplitPart(absl::string_view packet) {
  Reader reader(packet);
  if (reader.Long() != 0xFFFFFFFEu) return absl::InvalidArgumentError("a2s: not a split packet");
  A2sSplitPart part;
  part.id = reader.Long();
  part.total = reader.Byte();
  part.number = reader.Byte();
  reader.Short();  // Maximum packet size.
  if (!reader.ok()) return Truncated("split");
  if (part.id & 0x80000000u) {
    return absl::InvalidArgumentError("a2s: compressed split replies are not accepted");
  }
  if (part.total == 0 || part.number >= part.total) {
    return absl::InvalidArgumentError("a2s: split packet numbering out of range");
  }
  part.payload = std::string(reader.Rest());
  return part;
}

absl::StatusOr<A2sReply> ParseA2sReply(absl::string_view packet) {
  Reader reader(packet);
  if (reader.Long() != 0xFFFFFFFFu) return absl::InvalidArgumentError("a2s: bad packet header");
  uint8_t kind = reader.Byte();
  if (!reader.ok()) return Truncated("empty");
  A2sReply reply;
  switch (kind) {
    case kChallengeReply:
      reply.kind = A2sReply::Kind::kChallenge;
      reply.challenge = reader.Long();
      if (!reader.ok()) return Truncated("challenge");
      return reply;
    case kInfoReply: {
      reply.kind = A2sReply::Kind::kInfo;
      A2sInfo& info = reply.info;
      info.protocol = reader.Byte();
      info.name = reader.String();
      info.map = reader.String();
      info.folder = reader.String();
      info.game = reader.String();
      info.app_id = reader.Short();
      info.players = reader.Byte();
      info.max_players = reader.Byte();
      info.bots = reader.Byte();
      info.server_type = static_cast<char>(reader.Byte());
      info.environment = static_cast<char>(reader.Byte());
      info.password = reader.Byte() != 0;
      info.vac = reader.Byte() != 0;
      info.version = reader.String();
      if (!reader.ok()) return Truncated("info");
      if (reader.done()) return reply;
      uint8_t flags = reader.Byte();
      if (flags & 0x80) info.port = reader.Short();
      if (flags & 0x10) info.steam_id = reader.LongLong();
      if (flags & 0x40) {
        reader.Short();   // SourceTV port.
        reader.String();  // SourceTV name.
      }
      if (flags & 0x20) info.keywords = reader.String();
      if (flags & 0x01) info.game_id = reader.LongLong();
      if (!reader.ok()) return Truncated("info extra data");
      return reply;
    }
    case kPlayerReply: {
      reply.kind = A2sReply::Kind::kPlayers;
      uint8_t count = reader.Byte();
      for (uint8_t i = 0; i < count && reader.ok(); ++i) {
        reader.Byte();  // Index: always 0 on Source servers.
        A2sPlayer player;
        player.name = reader.String();
        player.score = static_cast<int32_t>(reader.Long());
        player.duration_seconds = reader.Float();
        reply.players.push_back(std::move(player));
      }
      if (!reader.ok()) return Truncated("player");
      return reply;
    }
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("a2s: unexpected reply type 0x", absl::Hex(kind)));
  }
}

}  // namespace l4d2::agent
