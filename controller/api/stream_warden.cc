#include "controller/api/stream_warden.h"

#include "common/logging.h"

namespace l4d2::controller {

void StreamWarden::Start() {
  thread_ = std::thread([this] {
    while (!stop_.WaitForNotificationWithTimeout(interval_)) Recheck();
  });
}

void StreamWarden::Stop() {
  if (!thread_.joinable()) return;
  stop_.Notify();
  thread_.join();
}

int StreamWarden::Recheck(const std::string& user_id) {
  int ended = 0;
  for (const SseViewer& viewer : hub_.Viewers(user_id)) {
    absl::StatusOr<User> user = authenticator_.Recheck(viewer.credential);
    bool holds =
        user.ok() && user->id == viewer.user_id && (user->role == Role::kAdmin) == viewer.admin;
    // A database that cannot answer ends nothing: the check is made again next round.
    if (!user.ok() && !absl::IsUnauthenticated(user.status())) holds = true;
    if (holds) continue;
    hub_.EndCredential(viewer.credential);
    ++ended;
  }
  if (ended > 0) L4D2_LOG(INFO) << "ended the event streams of " << ended << " credential(s)";
  return ended;
}

}  // namespace l4d2::controller
