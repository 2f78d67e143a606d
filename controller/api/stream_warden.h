#pragma once

// Ends the event streams of credentials that no longer hold: a revoked API token, a signed-out
// or expired session, a disabled account, a changed password (its sessions end) or a changed
// role. Each open stream's credential is checked against the database
//   - at once, on the request thread, when this controller changes a user's credentials
//     (Authenticator::ForgetUser): before that request is answered, so no event published
//     after the change reaches the stream;
//   - every `interval` for all of them, for changes made by another controller sharing the
//     database, and for expiry.

#include <string>
#include <thread>

#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "controller/api/authenticator.h"
#include "controller/api/sse_hub.h"

namespace l4d2::controller {

class StreamWarden {
 public:
  // Both must outlive the warden.
  StreamWarden(SseHub& hub, Authenticator& authenticator,
               absl::Duration interval = absl::Milliseconds(500))
      : hub_(hub), authenticator_(authenticator), interval_(interval) {}
  StreamWarden(const StreamWarden&) = delete;
  StreamWarden& operator=(const StreamWarden&) = delete;
  ~StreamWarden() { Stop(); }

  void Start();
  void Stop();

  // Checks the credentials of `user_id`'s streams (everyone's when empty) now; ends those that
  // no longer sign the same user in with the same role. How many credentials were ended.
  int Recheck(const std::string& user_id = "");

 private:
  SseHub& hub_;
  Authenticator& authenticator_;
  const absl::Duration interval_;
  absl::Notification stop_;
  std::thread thread_;
};

}  // namespace l4d2::controller
