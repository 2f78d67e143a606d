#include "controller/auth/login_limiter.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"

namespace l4d2::controller {

LoginLimiter::LoginLimiter(Clock& clock, LoginLimits limits) : clock_(clock), limits_(limits) {}

absl::Time LoginLimiter::BlockedUntil(const std::string& key, int limit, absl::Time now) {
  auto it = failures_.find(key);
  if (it == failures_.end()) return absl::InfinitePast();
  std::deque<absl::Time>& times = it->second.times;
  while (!times.empty() && times.front() + limits_.window <= now) times.pop_front();
  if (times.empty()) {
    failures_.erase(it);
    return absl::InfinitePast();
  }
  if (static_cast<int>(times.size()) < limit) return absl::InfinitePast();
  return times.front() + limits_.window;
}

void LoginLimiter::Add(const std::string& key, int limit, absl::Time now) {
  if (failures_.size() >= limits_.max_tracked && !failures_.contains(key)) {
    // Forget the key whose newest failure is oldest: it is the nearest to expiring anyway.
    auto oldest = std::min_element(failures_.begin(), failures_.end(), [](auto& a, auto& b) {
      return a.second.times.back() < b.second.times.back();
    });
    failures_.erase(oldest);
  }
  std::deque<absl::Time>& times = failures_[key].times;
  times.push_back(now);
  while (static_cast<int>(times.size()) > limit) times.pop_front();
}

absl::Status LoginLimiter::Check(const std::string& account, const std::string& address,
                                 const std::string& device) {
  const absl::Time now = clock_.Now();
  absl::MutexLock lock(&mutex_);
  const absl::Time until = !device.empty()
                               ? BlockedUntil("d:" + device, limits_.per_device, now)
                               : std::max(BlockedUntil("a:" + account, limits_.per_account, now),
                                          BlockedUntil("i:" + address, limits_.per_address, now));
  if (until <= now) return absl::OkStatus();
  return absl::ResourceExhaustedError(
      absl::StrCat("too many failed logins; try again in ",
                   static_cast<int64_t>(std::ceil(absl::ToDoubleSeconds(until - now))), " s"));
}

void LoginLimiter::RecordFailure(const std::string& account, const std::string& address,
                                 const std::string& device) {
  const absl::Time now = clock_.Now();
  absl::MutexLock lock(&mutex_);
  if (!device.empty()) {
    Add("d:" + device, limits_.per_device, now);
    return;
  }
  Add("a:" + account, limits_.per_account, now);
  Add("i:" + address, limits_.per_address, now);
}

void LoginLimiter::RecordSuccess(const std::string& account, const std::string& device) {
  absl::MutexLock lock(&mutex_);
  if (!device.empty()) {
    failures_.erase("d:" + device);
    return;
  }
  failures_.erase("a:" + account);
}

}  // namespace l4d2::controller
