#pragma once

// Headers every controller HTTP response carries (security.md): no sniffing, no framing, no
// referrer, a strict content security policy for the web UI, and no caching of API data.

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/steam/steam_web_api.h"

namespace l4d2::controller {

inline const std::vector<std::pair<std::string, std::string>>& SecurityHeaders() {
  static const auto* headers = new std::vector<std::pair<std::string, std::string>>{
      {"X-Content-Type-Options", "nosniff"},
      {"X-Frame-Options", "DENY"},
      {"Referrer-Policy", "no-referrer"},
      {"Content-Security-Policy",
       // Players' avatars come from Steam's hosts (the page sends no referrer).
       absl::StrCat(
           "default-src 'self'; img-src 'self' data: ", absl::StrJoin(kSteamAvatarOrigins, " "),
           "; style-src 'self'; script-src 'self'; connect-src 'self'; "
           "frame-ancestors 'none'; base-uri 'none'; form-action 'self'")},
      {"Cross-Origin-Opener-Policy", "same-origin"},
      {"Cross-Origin-Resource-Policy", "same-origin"},
  };
  return *headers;
}

}  // namespace l4d2::controller
