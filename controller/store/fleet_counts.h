#pragma once

// Counts over the fleet for /metrics: hosts by state, servers by desired and actual state,
// jobs by kind and state, and players on running servers (from their last status).

#include <cstdint>
#include <map>
#include <string>
#include <utility>

#include "absl/status/statusor.h"
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

}  // namespace l4d2::controller
