#pragma once

// Steam names and avatars of the players the history records (issue Players), from the Steam
// Web API's ISteamUser/GetPlayerSummaries/v2 (at most 100 SteamIDs a call, an API key).
//
// Asked on demand, never by scanning the players: the player feed hands over the SteamIDs of
// the joins it records (Want); a worker thread takes up to 100 at a time, keeps those whose
// profile is older than `lifetime` (the players table says when Steam was last asked), asks
// Steam once for them and stores what it says with the players (store/player_history.h). The
// API's routes read the stored profiles; nothing on a request's path waits for Steam. When
// Steam is down, slow or refuses the key, the SteamIDs wait for the next try (`retry` later)
// and the names from the game stay what every page shows: only avatars are missing.
//
// The key is a secret: it is in the request's query string (as the Web API wants it) and
// nowhere else: not in logs (errors never carry the URL), responses or the process's argv.

#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/http/http_fetcher.h"
#include "common/steam/steam_web_api.h"
#include "controller/store/player_history.h"

namespace l4d2::controller {

struct SteamProfilesOptions {
  std::string web_api = "https://api.steampowered.com";
  std::string key;  // a Steam Web API key: 32 hexadecimal digits
  // How long a profile is kept before Steam is asked again at the player's next join.
  absl::Duration lifetime = absl::Hours(24);
  absl::Duration timeout = absl::Seconds(10);
  // After a failed call, how long its SteamIDs wait.
  absl::Duration retry = absl::Minutes(1);
  // SteamIDs waiting at most (more are dropped until the next join names them again).
  size_t max_waiting = 20000;
};

struct SteamProfilesCounters {
  int64_t calls = 0;     // calls to GetPlayerSummaries
  int64_t profiles = 0;  // profiles stored
  int64_t failures = 0;  // calls that failed (network, HTTP status, a reply not understood)
};

class SteamProfiles {
 public:
  // Everything must outlive it.
  SteamProfiles(PlayerHistory& players, HttpReader& http, Clock& clock,
                SteamProfilesOptions options);
  ~SteamProfiles();

  // Asks for the profiles of `steam_ids` ("" ignored) to be looked at; returns at once.
  void Want(const std::vector<std::string>& steam_ids);
  // One call's work: up to 100 waiting SteamIDs, Steam asked for those due. OK when nothing
  // waited or none was due; on an error the SteamIDs wait again.
  absl::Status Batch();
  size_t waiting() const;

  SteamProfilesCounters counters() const;

  void Start();
  void Stop();

 private:
  PlayerHistory& players_;
  HttpReader& http_;
  Clock& clock_;
  const SteamProfilesOptions options_;

  mutable absl::Mutex mutex_;
  std::vector<std::string> waiting_ ABSL_GUARDED_BY(mutex_);
  absl::flat_hash_set<std::string> waiting_set_ ABSL_GUARDED_BY(mutex_);
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  SteamProfilesCounters counters_ ABSL_GUARDED_BY(mutex_);
  std::thread thread_;
};

// The request for `steam_ids` (at most 100): GET <web_api>/ISteamUser/GetPlayerSummaries/v2/.
std::string PlayerSummariesUrl(const std::string& web_api, const std::string& key,
                               const std::vector<std::string>& steam_ids);
// Steam's reply, {"response": {"players": [{"steamid", "personaname", "avatarmedium",
// "profileurl", ...}]}}: the profiles it holds, each checked (a SteamID64, a name of at most
// 128 bytes made well-formed UTF-8, an avatar on Steam's hosts, an https profile URL; what
// fails a check is left empty). INVALID_ARGUMENT for a reply of another shape.
absl::StatusOr<std::vector<SteamProfile>> ParsePlayerSummaries(absl::string_view json);

}  // namespace l4d2::controller
