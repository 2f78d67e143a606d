#pragma once

// The service manager's notification protocol (sd_notify(3)) for the long-running binaries:
// a Type=notify unit counts as started only once the process says READY=1 (so `systemctl
// start` and units ordered after it wait until it serves), and with WatchdogSec= the manager
// restarts a process that stops saying WATCHDOG=1. Outside such a unit (no NOTIFY_SOCKET)
// everything here does nothing.

#include <functional>
#include <thread>

#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace l4d2 {

// READY=1 with a status line `systemctl status` shows.
void NotifyReady(absl::string_view status);
// STOPPING=1: the shutdown has begun.
void NotifyStopping();

// Feeds the unit's watchdog at half its interval while `healthy` answers true: a process that
// serves nothing any more (deadlocked, its database gone) is restarted by the manager instead
// of lingering. Nothing when the unit has no watchdog. Stops in the destructor.
class ServiceWatchdog {
 public:
  explicit ServiceWatchdog(std::function<bool()> healthy);
  ~ServiceWatchdog();
  ServiceWatchdog(const ServiceWatchdog&) = delete;
  ServiceWatchdog& operator=(const ServiceWatchdog&) = delete;

 private:
  const std::function<bool()> healthy_;
  absl::Duration interval_;
  absl::Mutex mutex_;
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  std::thread thread_;
};

}  // namespace l4d2
