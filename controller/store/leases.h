#pragma once

// Named leases in the `settings` table: one holder at a time among the controllers on a
// database, for work that must not run twice at once (the reconciler). A lease is held until
// its expiry; its holder renews it by acquiring it again before then, and another takes it
// over once it has expired (a controller that died or stopped). Thread-safe.

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "controller/store/database.h"

namespace l4d2::controller {

class LeaseStore {
 public:
  // `db` and `clock` must outlive the store.
  LeaseStore(Database& db, Clock& clock) : db_(db), clock_(clock) {}

  // Takes or renews lease `name` for `owner` until now + `duration`; false while another
  // owner holds it.
  absl::StatusOr<bool> TryAcquire(const std::string& name, const std::string& owner,
                                  absl::Duration duration);
  // Gives the lease up if `owner` holds it, so that another may take it at once.
  absl::Status Release(const std::string& name, const std::string& owner);

 private:
  Database& db_;
  Clock& clock_;
};

}  // namespace l4d2::controller
