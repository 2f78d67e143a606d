#pragma once

// Counts over the fleet for /metrics: hosts by state, servers by desired and actual state,
// jobs by kind and state, and players on running servers (from their last status).

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "controller/store/database.h"

namespace l4d2::controller {

struct FleetCounts {
  std::map<std::string, int64_t> hosts;                            // by state
  std::map<std::pair<std::string, std::string>, int64_t> servers;  // by (desired, actual)
  std::map<std::pair<std::string, std::string>, int64_t> jobs;     // by (kind, state)
  int64_t players = 0;
  int64_t users = 0;
};

absl::StatusOr<FleetCounts> CountFleet(Database& db);

// Folds the job count changes that job state changes left (migration 19's triggers) into the
// counts CountFleet reads. Safe from several controllers at once; the reconciler calls it
// every round, so the changes CountFleet adds up stay a few seconds' worth.
absl::Status FoldJobCounts(Database& db);

// The fleet at a glance for one viewer (the web UI's dashboard): `owner` an operator's user id
// (their servers and jobs, no hosts), "" for an admin (everything).
struct FleetSummaryCounts {
  std::map<std::string, int64_t> hosts;                         // by state
  std::map<std::string, int64_t> servers;                       // by actual state
  int64_t players = 0;                                          // on running servers
  int64_t jobs_active = 0;                                      // queued or running
  int64_t jobs_failed = 0;                                      // failed since `failed_since`
  std::vector<std::pair<absl::Time, int64_t>> players_history;  // oldest first
};
absl::StatusOr<FleetSummaryCounts> SummarizeFleet(Database& db, const std::string& owner,
                                                  absl::Time failed_since,
                                                  absl::Time history_since);

// Writes the minute's players-online sample of every owner (the sum over their running
// servers, each as its game log tells: server_game_logs; A2S's count before the log was
// heard) unless one is there: several controllers may call it for the same minute. Removes
// samples older than `keep_since`. Returns whether this call wrote the minute.
absl::StatusOr<bool> SamplePlayers(Database& db, absl::Time now, absl::Time keep_since);

}  // namespace l4d2::controller
