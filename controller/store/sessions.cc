#include "controller/store/sessions.h"

#include "common/status_macros.h"
#include "controller/store/ids.h"
#include "soci/soci.h"

namespace l4d2::controller {
namespace {

// How stale last_seen may get before a request writes it again: idle timeouts are this coarse,
// and a busy browser costs one write a minute instead of one per request.
constexpr absl::Duration kTouchEvery = absl::Minutes(1);

}  // namespace

SessionStore::SessionStore(Database& db, Clock& clock, SessionLimits limits)
    : db_(db), clock_(clock), limits_(limits) {}

absl::StatusOr<NewSession> SessionStore::Create(const std::string& user_id) {
  const absl::Time now = clock_.Now();
  NewSession made{.secret = RandomHex(32),
                  .session = {.user_id = user_id,
                              .csrf_token = RandomHex(32),
                              .created_at = now,
                              .expires_at = now + limits_.lifetime}};
  L4D2_RETURN_IF_ERROR(db_.Transact([&](soci::session& sql) {
    const std::string hash = SecretHash(made.secret);
    long long now_ms = absl::ToUnixMillis(now);
    long long expires_ms = absl::ToUnixMillis(made.session.expires_at);
    sql << "INSERT INTO sessions (id_hash, user_id, csrf_token, created_at_ms, last_seen_ms,"
           " expires_at_ms) VALUES (:h, :u, :c, :n, :n2, :e)",
        soci::use(hash), soci::use(user_id), soci::use(made.session.csrf_token), soci::use(now_ms),
        soci::use(now_ms), soci::use(expires_ms);
    return absl::OkStatus();
  }));
  return made;
}

absl::StatusOr<Session> SessionStore::Resume(const std::string& secret) {
  const absl::Time now = clock_.Now();
  const long long now_ms = absl::ToUnixMillis(now);
  const std::string hash = SecretHash(secret);
  Session session;
  bool found = false;
  long long created = 0, last_seen = 0, expires = 0;
  int disabled = 0;
  L4D2_RETURN_IF_ERROR(db_.WithSession([&](soci::session& sql) {
    sql << "SELECT s.user_id, s.csrf_token, s.created_at_ms, s.last_seen_ms, s.expires_at_ms,"
           " u.disabled FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id_hash = :h",
        soci::use(hash), soci::into(session.user_id), soci::into(session.csrf_token),
        soci::into(created), soci::into(last_seen), soci::into(expires), soci::into(disabled);
    found = sql.got_data();
    return absl::OkStatus();
  }));
  const absl::Status ended = absl::UnauthenticatedError("no session, or the session has ended");
  if (!found) return ended;
  const bool live =
      disabled == 0 && now_ms < expires && now < absl::FromUnixMillis(last_seen) + limits_.idle;
  if (!live || now >= absl::FromUnixMillis(last_seen) + kTouchEvery) {
    L4D2_RETURN_IF_ERROR(db_.Transact([&](soci::session& sql) {
      if (live) {
        sql << "UPDATE sessions SET last_seen_ms = :n WHERE id_hash = :h", soci::use(now_ms),
            soci::use(hash);
      } else {
        sql << "DELETE FROM sessions WHERE id_hash = :h", soci::use(hash);
      }
      return absl::OkStatus();
    }));
  }
  if (!live) return ended;
  session.created_at = absl::FromUnixMillis(created);
  session.expires_at = absl::FromUnixMillis(expires);
  return session;
}

absl::Status SessionStore::End(const std::string& secret) {
  const std::string hash = SecretHash(secret);
  return db_.Transact([&](soci::session& sql) {
    sql << "DELETE FROM sessions WHERE id_hash = :h", soci::use(hash);
    return absl::OkStatus();
  });
}

absl::StatusOr<int64_t> SessionStore::EndAllOf(const std::string& user_id) {
  int64_t ended = 0;
  L4D2_RETURN_IF_ERROR(db_.Transact([&](soci::session& sql) {
    soci::statement delete_all =
        (sql.prepare << "DELETE FROM sessions WHERE user_id = :u", soci::use(user_id));
    delete_all.execute(true);
    ended = delete_all.get_affected_rows();
    return absl::OkStatus();
  }));
  return ended;
}

absl::StatusOr<int64_t> SessionStore::Prune() {
  const absl::Time now = clock_.Now();
  int64_t pruned = 0;
  L4D2_RETURN_IF_ERROR(db_.Transact([&](soci::session& sql) {
    long long now_ms = absl::ToUnixMillis(now);
    long long idle_before = absl::ToUnixMillis(now - limits_.idle);
    soci::statement prune = (sql.prepare << "DELETE FROM sessions WHERE expires_at_ms <= :n"
                                            " OR last_seen_ms <= :i",
                             soci::use(now_ms), soci::use(idle_before));
    prune.execute(true);
    pruned = prune.get_affected_rows();
    return absl::OkStatus();
  }));
  return pruned;
}

}  // namespace l4d2::controller
