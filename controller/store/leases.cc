#include "controller/store/leases.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/status_macros.h"
#include "soci/soci.h"

namespace l4d2::controller {
namespace {

// settings.value of a lease: "<expiry, Unix ms> <owner>".
std::string LeaseValue(int64_t expires_ms, const std::string& owner) {
  return absl::StrCat(expires_ms, " ", owner);
}

}  // namespace

absl::StatusOr<bool> LeaseStore::TryAcquire(const std::string& name, const std::string& owner,
                                            absl::Duration duration) {
  const std::string key = "lease:" + name;
  bool acquired = false;
  L4D2_RETURN_IF_ERROR(db_.Transact([&](soci::session& sql) -> absl::Status {
    acquired = false;
    const int64_t now = absl::ToUnixMillis(clock_.Now());
    const std::string value = LeaseValue(now + absl::ToInt64Milliseconds(duration), owner);
    long long now_ms = now;
    std::string current;
    sql << "SELECT value FROM settings WHERE name = :n", soci::use(key), soci::into(current);
    if (!sql.got_data()) {
      // Two controllers inserting at once: the primary key keeps one, the other sees it held.
      sql << "INSERT INTO settings (name, value, updated_at_ms) VALUES (:n, :v, :t)"
             " ON CONFLICT (name) DO NOTHING",
          soci::use(key), soci::use(value), soci::use(now_ms);
      std::string stored;
      sql << "SELECT value FROM settings WHERE name = :n", soci::use(key), soci::into(stored);
      acquired = stored == value;
      return absl::OkStatus();
    }
    std::pair<std::string, std::string> parts = absl::StrSplit(current, absl::MaxSplits(' ', 1));
    int64_t expires = 0;
    const bool readable = absl::SimpleAtoi(parts.first, &expires);
    if (readable && parts.second != owner && expires > now) return absl::OkStatus();
    // Compare-and-set on the value read: a concurrent taker changes it first or not at all.
    soci::statement update =
        (sql.prepare << "UPDATE settings SET value = :v, updated_at_ms = :t"
                        " WHERE name = :n AND value = :old",
         soci::use(value), soci::use(now_ms), soci::use(key), soci::use(current));
    update.execute(true);
    acquired = update.get_affected_rows() == 1;
    return absl::OkStatus();
  }));
  return acquired;
}

absl::Status LeaseStore::Release(const std::string& name, const std::string& owner) {
  const std::string key = "lease:" + name;
  return db_.Transact([&](soci::session& sql) -> absl::Status {
    std::string current;
    sql << "SELECT value FROM settings WHERE name = :n", soci::use(key), soci::into(current);
    if (!sql.got_data()) return absl::OkStatus();
    std::pair<std::string, std::string> parts = absl::StrSplit(current, absl::MaxSplits(' ', 1));
    if (parts.second != owner) return absl::OkStatus();
    sql << "DELETE FROM settings WHERE name = :n AND value = :v", soci::use(key),
        soci::use(current);
    return absl::OkStatus();
  });
}

}  // namespace l4d2::controller
