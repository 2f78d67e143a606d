#include "controller/store/game_updates.h"

#include <optional>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "rpc/proto_json.h"
#include "rpc/proto_time.h"
#include "soci/soci.h"

namespace l4d2::controller {
namespace {

constexpr char kPolicy[] = "update_policy";
constexpr char kState[] = "update_state";

bool KnownMode(const std::string& mode) {
  return mode == "off" || mode == "notify" || mode == "rolling";
}

absl::Status Invalid(const std::string& field, const std::string& expected) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", expected));
}

// The setting's JSON and revision; nullopt when never written.
absl::StatusOr<std::optional<std::pair<std::string, int64_t>>> ReadSetting(
    soci::session& sql, const std::string& name) {
  std::string value;
  long long revision = 0;
  sql << "SELECT value, revision FROM settings WHERE name = :n", soci::use(name), soci::into(value),
      soci::into(revision);
  if (!sql.got_data()) return std::nullopt;
  return std::make_pair(value, static_cast<int64_t>(revision));
}

}  // namespace

v1::UpdatePolicy DefaultUpdatePolicy() {
  v1::UpdatePolicy policy;
  policy.set_mode("notify");
  *policy.mutable_deadline() = ProtoDurationOf(absl::Hours(2));
  *policy.mutable_warning_lead() = ProtoDurationOf(absl::Minutes(5));
  policy.set_warning("say This server restarts for a game update in %s");
  policy.set_max_parallel(2);
  return policy;
}

std::string HostUpdateMode(const v1::UpdatePolicy& policy, const std::string& host_id) {
  auto it = policy.host_modes().find(host_id);
  return it != policy.host_modes().end() ? it->second : policy.mode();
}

GameUpdateStore::GameUpdateStore(Database& db, Clock& clock, AuditLog& audit)
    : db_(db), clock_(clock), audit_(audit) {}

absl::StatusOr<v1::UpdatePolicy> GameUpdateStore::Policy() {
  v1::UpdatePolicy policy = DefaultUpdatePolicy();
  L4D2_RETURN_IF_ERROR(db_.WithSession([&](soci::session& sql) -> absl::Status {
    L4D2_ASSIGN_OR_RETURN(auto stored, ReadSetting(sql, kPolicy));
    if (!stored) return absl::OkStatus();
    L4D2_ASSIGN_OR_RETURN(policy, FromJson<v1::UpdatePolicy>(stored->first, "update policy"));
    return absl::OkStatus();
  }));
  return policy;
}

absl::StatusOr<v1::UpdatePolicy> GameUpdateStore::SetPolicy(const std::string& actor,
                                                            v1::UpdatePolicy policy) {
  const v1::UpdatePolicy defaults = DefaultUpdatePolicy();
  if (policy.mode().empty()) policy.set_mode(defaults.mode());
  if (!KnownMode(policy.mode())) return Invalid("mode", "off, notify or rolling expected");
  if (!policy.has_deadline()) *policy.mutable_deadline() = defaults.deadline();
  if (!policy.has_warning_lead()) *policy.mutable_warning_lead() = defaults.warning_lead();
  const absl::Duration deadline = DurationOf(policy.deadline());
  const absl::Duration lead = DurationOf(policy.warning_lead());
  if (deadline != absl::ZeroDuration() &&
      (deadline < absl::Minutes(1) || deadline > absl::Hours(24 * 7))) {
    return Invalid("deadline", "0 (never forced) or 1m to 7d expected");
  }
  if (lead < absl::ZeroDuration() || lead > absl::Hours(6)) {
    return Invalid("warning_lead", "0 to 6h expected");
  }
  if (deadline != absl::ZeroDuration() && lead >= deadline) {
    return Invalid("warning_lead", "shorter than the deadline expected");
  }
  if (policy.warning().size() > 200 || absl::StrContains(policy.warning(), "\n") ||
      absl::StrContains(policy.warning(), "\r")) {
    return Invalid("warning", "one console command line of at most 200 bytes expected");
  }
  if (policy.max_parallel() == 0) policy.set_max_parallel(defaults.max_parallel());
  if (policy.max_parallel() < 1 || policy.max_parallel() > 100) {
    return Invalid("max_parallel", "1 to 100 expected");
  }
  *policy.mutable_updated_at() = TimestampOf(clock_.Now());
  policy.set_updated_by(actor);
  L4D2_RETURN_IF_ERROR(db_.Transact([&](soci::session& sql) -> absl::Status {
    for (const auto& [host, mode] : policy.host_modes()) {
      const std::string field = absl::StrCat("host_modes[", host, "]");
      if (!KnownMode(mode)) return Invalid(field, "off, notify or rolling expected");
      long long found = 0;
      sql << "SELECT COUNT(*) FROM hosts WHERE id = :id", soci::use(host), soci::into(found);
      if (found == 0) return Invalid(field, "no such host");
    }
    const std::string value = ToJson(policy);
    long long now = absl::ToUnixMillis(clock_.Now());
    const std::string name = kPolicy;
    sql << "INSERT INTO settings (name, value, revision, updated_at_ms) VALUES (:n, :v, 1, :t)"
           " ON CONFLICT (name) DO UPDATE SET value = excluded.value,"
           " revision = settings.revision + 1, updated_at_ms = excluded.updated_at_ms",
        soci::use(name), soci::use(value), soci::use(now);
    audit_.Append(
        sql, {{.actor = actor, .action = "updates.policy", .target = "fleet", .detail = value}});
    return absl::OkStatus();
  }));
  return policy;
}

absl::StatusOr<Versioned<v1::UpdateState>> GameUpdateStore::State(soci::session& sql) {
  Versioned<v1::UpdateState> state;
  L4D2_ASSIGN_OR_RETURN(auto stored, ReadSetting(sql, kState));
  if (!stored) return state;
  L4D2_ASSIGN_OR_RETURN(state.value, FromJson<v1::UpdateState>(stored->first, "update state"));
  state.revision = stored->second;
  return state;
}

absl::StatusOr<Versioned<v1::UpdateState>> GameUpdateStore::State() {
  Versioned<v1::UpdateState> state;
  L4D2_RETURN_IF_ERROR(db_.WithSession([&](soci::session& sql) -> absl::Status {
    L4D2_ASSIGN_OR_RETURN(state, State(sql));
    return absl::OkStatus();
  }));
  return state;
}

absl::StatusOr<UpdateSettings> GameUpdateStore::Settings() {
  UpdateSettings settings{.policy = DefaultUpdatePolicy()};
  L4D2_RETURN_IF_ERROR(db_.WithSession([&](soci::session& sql) -> absl::Status {
    const std::string policy_name = kPolicy;
    const std::string state_name = kState;
    soci::rowset<soci::row> rows =
        (sql.prepare << "SELECT name, value, revision FROM settings WHERE name IN (:p, :s)",
         soci::use(policy_name), soci::use(state_name));
    for (const soci::row& row : rows) {
      const std::string value = row.get<std::string>(1);
      if (row.get<std::string>(0) == kPolicy) {
        L4D2_ASSIGN_OR_RETURN(settings.policy, FromJson<v1::UpdatePolicy>(value, "update policy"));
      } else {
        L4D2_ASSIGN_OR_RETURN(settings.state.value,
                              FromJson<v1::UpdateState>(value, "update state"));
        settings.state.revision = row.get<long long>(2);
      }
    }
    return absl::OkStatus();
  }));
  return settings;
}

absl::StatusOr<bool> GameUpdateStore::SaveState(soci::session& sql, const v1::UpdateState& state,
                                                int64_t revision) {
  const std::string value = ToJson(state);
  const std::string name = kState;
  long long now = absl::ToUnixMillis(clock_.Now());
  long long expected = revision;
  soci::statement write =
      revision == 0 ? (sql.prepare << "INSERT INTO settings (name, value, revision, updated_at_ms)"
                                      " VALUES (:n, :v, 1, :t) ON CONFLICT (name) DO NOTHING",
                       soci::use(name), soci::use(value), soci::use(now))
                    : (sql.prepare << "UPDATE settings SET value = :v, revision = revision + 1,"
                                      " updated_at_ms = :t WHERE name = :n AND revision = :r",
                       soci::use(value), soci::use(now), soci::use(name), soci::use(expected));
  write.execute(true);
  return write.get_affected_rows() == 1;
}

}  // namespace l4d2::controller
