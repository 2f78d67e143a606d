// libFuzzer: an RCON byte stream, fed to the decoder in two chunks.
#include <cstddef>
#include <cstdint>

#include "agent/game/rcon.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::string_view bytes(reinterpret_cast<const char*>(data), size);
  l4d2::agent::RconDecoder decoder;
  decoder.Append(bytes.substr(0, size / 2));
  for (int round = 0; round < 2; ++round) {
    while (true) {
      auto next = decoder.Next();
      if (!next.ok() || !next->has_value()) break;
      (void)l4d2::agent::EncodeRconPacket(**next);
    }
    decoder.Append(bytes.substr(size / 2));
  }
  return 0;
}
