#pragma once

// Waiting in tests without sleeps: poll a condition until it holds or a deadline passes.
//
//   ASSERT_TRUE(Eventually([&] { return server.ready(); }));

#include <functional>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace l4d2::testing {

inline bool Eventually(const std::function<bool()>& condition,
                       absl::Duration timeout = absl::Seconds(10),
                       absl::Duration poll = absl::Milliseconds(2)) {
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    if (condition()) return true;
    if (absl::Now() >= deadline) return false;
    absl::SleepFor(poll);
  }
}

}  // namespace l4d2::testing
