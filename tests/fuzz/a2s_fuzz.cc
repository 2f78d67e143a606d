// libFuzzer: A2S replies as any server (or anyone spoofing one) could send them.
#include <cstddef>
#include <cstdint>

#include "agent/game/a2s.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::string_view packet(reinterpret_cast<const char*>(data), size);
  (void)l4d2::agent::ParseA2sReply(packet);
  if (l4d2::agent::IsA2sSplitPacket(packet)) (void)l4d2::agent::ParseA2sSplitPart(packet);
  return 0;
}
