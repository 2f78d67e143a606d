#pragma once

// The JSON of servers as the API shows them (l4d2.controller.v1.Server), remembered per
// server while its row is unchanged. Listing a page then costs the SQL read and a hash per
// row instead of a protobuf conversion and print per row, the bulk of a list's time
// (docs/benchmarks.md, P6). The text is protobuf's own JSON printing of ToApi(server), so a
// list assembled from it is what printing the whole ListServersResponse gives. Thread-safe.

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "controller/store/servers.h"

namespace l4d2::controller {

class ServerJsonCache {
 public:
  // Servers remembered at most; past it the cache starts afresh.
  explicit ServerJsonCache(size_t capacity = 200000) : capacity_(capacity) {}

  std::string Json(const Server& server);
  // The body of l4d2.controller.v1.ListServersResponse for `servers` and the next page token.
  std::string ListJson(const std::vector<Server>& servers, size_t count,
                       const std::string& next_page_token);

 private:
  const size_t capacity_;
  absl::Mutex mutex_;
  // By server id: the row's hash and its JSON.
  absl::flat_hash_map<std::string, std::pair<size_t, std::string>> by_id_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace l4d2::controller
