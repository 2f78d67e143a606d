// libFuzzer: appmanifest files and app_info_print output.
#include <cstddef>
#include <cstdint>

#include "agent/steam/keyvalues.h"
#include "agent/steam/steamcmd_output.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::string_view text(reinterpret_cast<const char*>(data), size);
  (void)l4d2::agent::ParseAppManifestBuildId(text);
  (void)l4d2::agent::ParseAppInfoBuildId(text, "222860", "");
  (void)l4d2::agent::ParseSteamcmdLine(text);
  return 0;
}
