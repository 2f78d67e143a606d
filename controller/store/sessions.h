#pragma once

// Browser sessions (table `sessions`): server-side state behind an opaque cookie. The session
// id is a 256-bit secret kept only as its hash (ids.h SecretHash), so a database leak does not
// log anyone in; each session has its own CSRF token, which the browser reads from
// GET /api/v1/session and sends back in a header on every state-changing request.
//
// A session ends at logout, at its absolute lifetime, after its idle timeout, and for every
// session of a user whose password changes or who is disabled. Thread-safe.

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "controller/store/database.h"

namespace l4d2::controller {

struct SessionLimits {
  absl::Duration idle = absl::Minutes(30);
  absl::Duration lifetime = absl::Hours(12);
};

struct Session {
  std::string user_id;
  std::string csrf_token;
  absl::Time created_at;
  absl::Time expires_at;  // the absolute end
};

// A new session: the secret for the cookie (shown once) and the session.
struct NewSession {
  std::string secret;
  Session session;
};

class SessionStore {
 public:
  // `db` and `clock` must outlive the store.
  SessionStore(Database& db, Clock& clock, SessionLimits limits = {});

  absl::StatusOr<NewSession> Create(const std::string& user_id);
  // The live session of `secret`, its idle time reset (written at most once a minute).
  // UNAUTHENTICATED, with one message, for an unknown, ended, idle or expired session; a
  // timed-out session is deleted.
  absl::StatusOr<Session> Resume(const std::string& secret);
  // Ends one session; ending an unknown one is OK.
  absl::Status End(const std::string& secret);
  // Ends every session of the user; how many ended.
  absl::StatusOr<int64_t> EndAllOf(const std::string& user_id);
  // Deletes sessions past their idle or absolute end; how many went.
  absl::StatusOr<int64_t> Prune();

  const SessionLimits& limits() const { return limits_; }

 private:
  Database& db_;
  Clock& clock_;
  SessionLimits limits_;
};

}  // namespace l4d2::controller
