#pragma once

// The JSON of servers as the API shows them (l4d2.controller.v1.Server), remembered per server
// and row revision. A page of a list then costs one index-only SQL read of ids, names and
// revisions, and a full read of only the rows changed since they were last shown; protobuf's
// JSON printing per row was most of a list's time (docs/benchmarks.md, P6). The text is
// protobuf's own printing of ToApi(server), so a list assembled from it is what printing the
// whole ListServersResponse gives. Thread-safe.

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/types/span.h"
#include "controller/store/servers.h"

namespace l4d2::controller {

class ServerJsonCache {
 public:
  // Reads the full rows of servers (those of `ids` still visible; any order).
  using Fetch =
      std::function<absl::StatusOr<std::vector<Server>>(absl::Span<const std::string> ids)>;

  // Servers remembered at most; past it the memo starts afresh.
  explicit ServerJsonCache(size_t capacity = 200000) : capacity_(capacity) {}

  std::string Json(const Server& server);
  // The body of l4d2.controller.v1.ListServersResponse for `page` (as listed, in order) and
  // the next page token. Rows whose revision is not remembered are read with `fetch`; a row
  // gone since the page was listed is left out, one changed since is shown as it is now.
  absl::StatusOr<std::string> ListJson(absl::Span<const ServerRevision> page,
                                       const std::string& next_page_token, const Fetch& fetch);

 private:
  struct Entry {
    int64_t revision = 0;
    std::shared_ptr<const std::string> json;
  };
  // Prints and remembers the server's JSON.
  std::shared_ptr<const std::string> Remember(const Server& server);

  const size_t capacity_;
  absl::Mutex mutex_;
  absl::flat_hash_map<std::string, Entry> by_id_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace l4d2::controller
