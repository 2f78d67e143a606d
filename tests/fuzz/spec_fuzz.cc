// libFuzzer: instance spec files. Whatever loads and validates must render a server.cfg whose
// every line is one command: a quote, ';' or line break in a value would be an injection.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "spec/spec.h"
#include "spec/spec_yaml.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  auto spec = l4d2::spec::ParseInstanceSpecYaml(text, "fuzz");
  if (!spec.ok()) return 0;
  l4d2::agent::v1::InstanceSpec full = l4d2::spec::WithDefaults("fuzz", *spec);
  if (!l4d2::spec::ValidateSpec(full, {.port_first = 1, .port_last = 65535}).ok()) return 0;
  std::string cfg =
      l4d2::spec::RenderServerCfg({.name = "fuzz", .spec = full, .rcon_password = "pw"});
  size_t lines = 0;
  for (char c : cfg) {
    if (c == '\n') ++lines;
    if (c == ';' || c == '\r' || c == '\0') std::abort();
  }
  // Header, hostname, rcon_password, mp_gamemode, one line per cvar.
  if (lines != 4u + static_cast<size_t>(full.cvars_size())) std::abort();
  for (const std::string& argument : l4d2::spec::LaunchArguments(full, "0.0.0.0")) {
    if (argument.empty() || argument.find_first_of(" \t\n") != std::string::npos) std::abort();
  }
  return 0;
}
