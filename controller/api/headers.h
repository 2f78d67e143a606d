#pragma once

// Headers every controller HTTP response carries (security.md): no sniffing, no framing, no
// referrer, a strict content security policy for the web UI, and no caching of API data.

#include <string>
#include <utility>
#include <vector>

namespace l4d2::controller {

inline const std::vector<std::pair<std::string, std::string>>& SecurityHeaders() {
  static const auto* headers = new std::vector<std::pair<std::string, std::string>>{
      {"X-Content-Type-Options", "nosniff"},
      {"X-Frame-Options", "DENY"},
      {"Referrer-Policy", "no-referrer"},
      {"Content-Security-Policy",
       // Players' avatars come from Steam's hosts (fleet/steam_profiles.h, kSteamAvatarOrigins;
       // the page sends no referrer).
       "default-src 'self'; img-src 'self' data: https://avatars.steamstatic.com "
       "https://avatars.akamai.steamstatic.com https://avatars.cloudflare.steamstatic.com "
       "https://steamcdn-a.akamaihd.net; style-src 'self'; script-src 'self'; "
       "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"},
      {"Cross-Origin-Opener-Policy", "same-origin"},
      {"Cross-Origin-Resource-Policy", "same-origin"},
  };
  return *headers;
}

}  // namespace l4d2::controller
