#include "common/lock_checks.h"

#include "absl/synchronization/mutex.h"

namespace l4d2 {

void DisableLockOrderChecks() {
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
}

}  // namespace l4d2
