#pragma once

// "host:port" and "[v6]:port", as every listen and dial address in the configs is written.

#include <optional>
#include <string>

#include "absl/strings/string_view.h"

namespace l4d2 {

struct HostPort {
  std::string host;  // without the brackets of an IPv6 literal
  int port = 0;
};

// The host (not empty) and the port (digits only, 0 to 65535); nullopt for anything else.
std::optional<HostPort> SplitHostPort(absl::string_view address);

}  // namespace l4d2
