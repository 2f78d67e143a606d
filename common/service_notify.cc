#include "common/service_notify.h"

#include <systemd/sd-daemon.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "common/clock.h"
#include "common/logging.h"

namespace l4d2 {

void NotifyReady(absl::string_view status) {
  const std::string message = absl::StrCat("READY=1\nSTATUS=", status);
  (void)sd_notify(0, message.c_str());
}

void NotifyStopping() { (void)sd_notify(0, "STOPPING=1\nSTATUS=stopping"); }

ServiceWatchdog::ServiceWatchdog(std::function<bool()> healthy) : healthy_(std::move(healthy)) {
  uint64_t usec = 0;
  interval_ = sd_watchdog_enabled(0, &usec) > 0 ? absl::Microseconds(usec) : absl::ZeroDuration();
  if (interval_ == absl::ZeroDuration()) return;
  thread_ = std::thread([this] {
    absl::MutexLock lock(&mutex_);
    bool was_healthy = true;
    while (!mutex_.AwaitWithDeadline(absl::Condition(&stopping_), RealDeadline(interval_ / 2))) {
      mutex_.Unlock();
      const bool healthy = healthy_();
      mutex_.Lock();
      if (healthy) {
        (void)sd_notify(0, "WATCHDOG=1");
      } else if (was_healthy) {
        L4D2_LOG(ERROR) << "health check failed: the watchdog is no longer fed (the service "
                           "manager restarts this process after "
                        << absl::FormatDuration(interval_) << " without it)";
      }
      was_healthy = healthy;
    }
  });
}

ServiceWatchdog::~ServiceWatchdog() {
  {
    absl::MutexLock lock(&mutex_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

}  // namespace l4d2
