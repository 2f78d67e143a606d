#pragma once

// Keeps the game log service (game_log_service.h) in step with the instances. Every round
// (every `interval`, and soon after Nudge) it:
//   - gives the service each instance's game port and sv_logsecret (a new instance is heard
//     from its first line; a deleted one is forgotten);
//   - ends the sessions of a server whose process stopped or was replaced (a stop, a crash, a
//     restart): a dying server's log says nothing, and a restarted one has nobody in it;
//   - asks a running server for `status` over RCON when the number of players A2S reports
//     differs from the log's (a join or a leave the log missed: lost packets, the agent
//     restarted while players played), at most once per `reconcile_gap` per server. A server
//     whose log agrees with A2S is never asked: no RCON polling.
// The rounds run on a thread of their own (Start); Round() is also called by tests.

#include <functional>
#include <string>
#include <thread>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "agent/players/game_log_service.h"
#include "common/clock.h"
#include "l4d2/agent/v1/agent_service.pb.h"

namespace l4d2::agent {

struct PlayerWatchSources {
  // Every instance with the game's view (InstanceManager::List(true)).
  std::function<absl::StatusOr<v1::ListInstancesResponse>()> instances;
  // An instance's sv_logsecret (InstanceManager::LogSecret).
  std::function<absl::StatusOr<std::string>(const std::string& name)> log_secret;
  // One console command over RCON (InstanceManager::Console).
  std::function<absl::StatusOr<std::string>(const std::string& name, const std::string& command)>
      console;
};

struct PlayerWatchOptions {
  absl::Duration interval = absl::Seconds(5);
  absl::Duration reconcile_gap = absl::Seconds(30);
};

class PlayerWatch {
 public:
  // `log` and `clock` must outlive the watch.
  PlayerWatch(GameLogService& log, PlayerWatchSources sources, Clock& clock,
              PlayerWatchOptions options = {});
  ~PlayerWatch();

  // One round; the number of servers asked for `status`.
  int Round();
  // An instance changed: the next round runs now rather than at the interval.
  void Nudge();

  void Start();
  void Stop();

 private:
  struct Known {
    int32_t main_pid = 0;
    std::string secret;
    std::optional<absl::Time> reconciled;
  };
  GameLogService& log_;
  const PlayerWatchSources sources_;
  Clock& clock_;
  const PlayerWatchOptions options_;
  absl::flat_hash_map<std::string, Known> known_;  // Round's
  absl::Mutex mutex_;
  bool nudged_ ABSL_GUARDED_BY(mutex_) = false;
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  std::thread thread_;
};

}  // namespace l4d2::agent
