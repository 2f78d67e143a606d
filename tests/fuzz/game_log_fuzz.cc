// libFuzzer: what arrives at the agent's log listener (anyone can send it UDP packets): the
// packet decoded with a secret, its line parsed; the bytes parsed as a line themselves, and as
// the reply of `status` (a server's console is not the agent's to trust either).
// A line that parses must come back the same from the packet srcds would send for it.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "agent/game/game_log.h"
#include "agent/game/rcon_status.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using l4d2::agent::GameLogEvent;
  const absl::string_view bytes(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<absl::string_view> line = l4d2::agent::DecodeGameLogPacket(bytes, "48213");
  if (line.ok()) (void)l4d2::agent::ParseGameLogLine(*line);
  absl::StatusOr<GameLogEvent> event = l4d2::agent::ParseGameLogLine(bytes);
  (void)l4d2::agent::SteamId64(bytes);
  (void)l4d2::agent::ParseRconStatus(std::string(bytes));
  if (event.ok() && bytes.find('\0') == absl::string_view::npos) {
    absl::string_view message = bytes.substr(25);
    if (!message.empty() && (message.back() == '\n' || message.back() == '\r')) return 0;
    const std::string packet = l4d2::agent::EncodeGameLogPacket(event->at, message, "48213");
    absl::StatusOr<absl::string_view> again = l4d2::agent::DecodeGameLogPacket(packet, "48213");
    if (packet.size() <= l4d2::agent::kMaxGameLogPacket && (!again.ok() || *again != bytes)) {
      std::abort();
    }
  }
  return 0;
}
