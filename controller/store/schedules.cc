#include "controller/store/schedules.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/cron/cron.h"
#include "common/names.h"
#include "common/status_macros.h"
#include "controller/store/ids.h"
#include "google/protobuf/util/time_util.h"
#include "rpc/proto_json.h"
#include "soci/soci.h"

namespace l4d2::controller {
namespace {

using google::protobuf::util::TimeUtil;

constexpr int kMaxSteps = 20;
constexpr size_t kMaxCommandBytes = 512;
constexpr absl::Duration kMaxWait = absl::Hours(6);
constexpr absl::Duration kMinEvery = absl::Minutes(1);
constexpr absl::Duration kMaxEvery = absl::Hours(24 * 31);

constexpr char kColumns[] =
    "id, owner_id, name, definition, enabled, next_run_at_ms, last_run_at_ms, last_job_id,"
    " created_at_ms, updated_at_ms, revision";

absl::Duration FromProto(const google::protobuf::Duration& duration) {
  return absl::Nanoseconds(TimeUtil::DurationToNanoseconds(duration));
}

std::vector<Schedule> ReadSchedules(soci::session& sql, const std::string& select,
                                    const std::vector<std::string>& params) {
  std::vector<Schedule> schedules;
  Schedule row;
  std::string definition;
  int enabled = 0;
  long long next = 0, last = 0, created = 0, updated = 0, revision = 0;
  soci::statement statement(sql);
  for (const std::string& param : params) statement.exchange(soci::use(param));
  statement.exchange(soci::into(row.id));
  statement.exchange(soci::into(row.owner_id));
  statement.exchange(soci::into(row.name));
  statement.exchange(soci::into(definition));
  statement.exchange(soci::into(enabled));
  statement.exchange(soci::into(next));
  statement.exchange(soci::into(last));
  statement.exchange(soci::into(row.last_job_id));
  statement.exchange(soci::into(created));
  statement.exchange(soci::into(updated));
  statement.exchange(soci::into(revision));
  statement.alloc();
  statement.prepare(select);
  statement.define_and_bind();
  statement.execute(false);
  while (statement.fetch()) {
    // Written by this store only, from a checked definition.
    row.definition = FromJson<v1::ScheduleDefinition>(definition, "schedule definition")
                         .value_or(v1::ScheduleDefinition());
    row.enabled = enabled != 0;
    row.next_run_at = next > 0 ? std::optional(absl::FromUnixMillis(next)) : std::nullopt;
    row.last_run_at = last > 0 ? std::optional(absl::FromUnixMillis(last)) : std::nullopt;
    row.created_at = absl::FromUnixMillis(created);
    row.updated_at = absl::FromUnixMillis(updated);
    row.revision = revision;
    schedules.push_back(row);
  }
  return schedules;
}

absl::Status CheckCommand(const std::string& field, const std::string& command) {
  if (command.empty() || command.size() > kMaxCommandBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": 1 to ", kMaxCommandBytes, " bytes expected"));
  }
  for (char c : command) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ": one command on one line (no control characters)"));
    }
  }
  return absl::OkStatus();
}

// Whether `owner_id` may use the object `id` of `table` (its own, or a global one for
// overlays; any host).
bool OwnerMayUse(soci::session& sql, const std::string& table, const std::string& id,
                 const std::string& owner_id, bool owner_admin) {
  std::string owner;
  soci::indicator indicator = soci::i_null;
  if (table == "hosts") {
    sql << "SELECT id FROM hosts WHERE id = :id", soci::use(id), soci::into(owner);
    return sql.got_data();
  }
  sql << "SELECT owner_id FROM " << table << " WHERE id = :id", soci::use(id),
      soci::into(owner, indicator);
  if (!sql.got_data()) return false;
  return owner_admin || indicator != soci::i_ok || owner == owner_id;
}

}  // namespace

absl::StatusOr<std::optional<absl::Time>> NextOccurrence(const v1::ScheduleDefinition& definition,
                                                         absl::Time after) {
  if (definition.has_every()) {
    const absl::Duration every = FromProto(definition.every());
    if (every < kMinEvery || every > kMaxEvery) {
      return absl::InvalidArgumentError("definition.every: 1 minute to 31 days expected");
    }
    return std::optional(after + every);
  }
  L4D2_ASSIGN_OR_RETURN(CronSchedule cron, CronSchedule::Parse(definition.cron()));
  absl::TimeZone zone;
  const std::string name = definition.time_zone().empty() ? "UTC" : definition.time_zone();
  if (!absl::LoadTimeZone(name, &zone)) {
    return absl::InvalidArgumentError(
        absl::StrCat("definition.time_zone: no time zone '", name, "' (an IANA name expected)"));
  }
  return cron.Next(after, zone);
}

ScheduleStore::ScheduleStore(Database& db, Clock& clock) : db_(db), clock_(clock) {}

absl::Status ScheduleStore::Check(soci::session& sql, const std::string& owner_id,
                                  ScheduleInput& input) {
  L4D2_RETURN_IF_ERROR(ValidateInstanceName(input.name));
  std::string role;
  sql << "SELECT role FROM users WHERE id = :id", soci::use(owner_id), soci::into(role);
  if (!sql.got_data()) return absl::InvalidArgumentError("a schedule needs a user as its owner");
  const bool owner_admin = role == "admin";
  v1::ScheduleDefinition& definition = input.definition;
  if (definition.cron().empty() == !definition.has_every()) {
    return absl::InvalidArgumentError("definition: exactly one of cron and every is expected");
  }
  if (definition.has_every() && !definition.time_zone().empty()) {
    return absl::InvalidArgumentError("definition.time_zone: only for a cron expression");
  }
  if (!definition.has_every() && definition.time_zone().empty()) definition.set_time_zone("UTC");
  absl::StatusOr<std::optional<absl::Time>> next = NextOccurrence(definition, clock_.Now());
  if (!next.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        absl::StartsWith(next.status().message(), "definition") ? "" : "definition.cron: ",
        next.status().message()));
  }
  if (definition.missed().empty()) definition.set_missed("run_once");
  if (definition.missed() != "run_once" && definition.missed() != "skip") {
    return absl::InvalidArgumentError("definition.missed: run_once or skip expected");
  }
  const v1::ScheduleTarget& target = definition.target();
  if (target.kind() == "fleet") {
    if (!target.id().empty()) {
      return absl::InvalidArgumentError("definition.target.id: none for the fleet");
    }
  } else if (target.kind() == "server" || target.kind() == "blueprint" || target.kind() == "host") {
    const std::string table = target.kind() + "s";
    if (target.id().empty() || !OwnerMayUse(sql, table, target.id(), owner_id, owner_admin)) {
      return absl::NotFoundError(
          absl::StrCat("definition.target: no ", target.kind(), " '", target.id(), "'"));
    }
  } else {
    return absl::InvalidArgumentError(
        "definition.target.kind: server, blueprint, host or fleet expected");
  }
  if (definition.steps().empty() || definition.steps_size() > kMaxSteps) {
    return absl::InvalidArgumentError(
        absl::StrCat("definition.steps: 1 to ", kMaxSteps, " steps expected"));
  }
  for (int i = 0; i < definition.steps_size(); ++i) {
    const v1::ScheduleStep& step = definition.steps(i);
    const std::string field = absl::StrCat("definition.steps[", i, "]");
    switch (step.step_case()) {
      case v1::ScheduleStep::kCommand:
        L4D2_RETURN_IF_ERROR(CheckCommand(field + ".command", step.command()));
        break;
      case v1::ScheduleStep::kWait: {
        const absl::Duration wait = FromProto(step.wait());
        if (wait < absl::Seconds(1) || wait > kMaxWait) {
          return absl::InvalidArgumentError(absl::StrCat(field, ".wait: 1s to 6h expected"));
        }
        break;
      }
      case v1::ScheduleStep::kAction:
        if (step.action() != "start" && step.action() != "stop" && step.action() != "restart" &&
            step.action() != "reset" && step.action() != "backup") {
          return absl::InvalidArgumentError(
              absl::StrCat(field, ".action: start, stop, restart, reset or backup expected"));
        }
        break;
      case v1::ScheduleStep::kInstall:
        if (!step.install()) {
          return absl::InvalidArgumentError(absl::StrCat(field, ".install: true expected"));
        }
        if (!owner_admin) {
          return absl::PermissionDeniedError(
              absl::StrCat(field, ".install: installing the game is for admins"));
        }
        break;
      case v1::ScheduleStep::kSyncOverlay:
        if (!OwnerMayUse(sql, "overlays", step.sync_overlay(), owner_id, owner_admin)) {
          return absl::NotFoundError(
              absl::StrCat(field, ".syncOverlay: no overlay '", step.sync_overlay(), "'"));
        }
        break;
      case v1::ScheduleStep::STEP_NOT_SET:
        return absl::InvalidArgumentError(
            absl::StrCat(field, ": one of command, wait, action, install, syncOverlay expected"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<Schedule> ScheduleStore::Read(soci::session& sql, const std::string& id) {
  std::vector<Schedule> found =
      ReadSchedules(sql, absl::StrCat("SELECT ", kColumns, " FROM schedules WHERE id = :id"), {id});
  if (found.empty()) return absl::NotFoundError(absl::StrCat("no schedule '", id, "'"));
  return std::move(found.front());
}

absl::StatusOr<Schedule> ScheduleStore::Create(const Actor& actor, const ScheduleInput& given) {
  ScheduleInput input = given;
  const std::string id = "c" + RandomHex(12);
  absl::StatusOr<Schedule> created;
  L4D2_RETURN_IF_ERROR(db_.Transact([&](soci::session& sql) -> absl::Status {
    L4D2_RETURN_IF_ERROR(Check(sql, actor.user_id, input));
    long long taken = 0;
    sql << "SELECT COUNT(*) FROM schedules WHERE owner_id = :o AND name = :n",
        soci::use(actor.user_id), soci::use(input.name), soci::into(taken);
    if (taken > 0) {
      return absl::AlreadyExistsError(absl::StrCat("schedule '", input.name, "' exists"));
    }
    const absl::Time now_time = clock_.Now();
    long long now = absl::ToUnixMillis(now_time);
    L4D2_ASSIGN_OR_RETURN(std::optional<absl::Time> next,
                          NextOccurrence(input.definition, now_time));
    long long next_ms = input.enabled && next ? absl::ToUnixMillis(*next) : 0;
    int enabled = input.enabled ? 1 : 0;
    std::string definition = ToJson(input.definition);
    sql << "INSERT INTO schedules (id, owner_id, name, definition, enabled, next_run_at_ms,"
           " last_run_at_ms, last_job_id, created_at_ms, updated_at_ms, revision)"
           " VALUES (:id, :o, :n, :d, :e, :x, 0, '', :c, :u, 1)",
        soci::use(id), soci::use(actor.user_id), soci::use(input.name), soci::use(definition),
        soci::use(enabled), soci::use(next_ms), soci::use(now), soci::use(now);
    created = Read(sql, id);
    return created.status();
  }));
  return created;
}

absl::StatusOr<Schedule> ScheduleStore::Update(const Actor& actor, const std::string& id,
                                               const ScheduleInput& given) {
  ScheduleInput input = given;
  absl::StatusOr<Schedule> updated;
  L4D2_RETURN_IF_ERROR(db_.Transact([&](soci::session& sql) -> absl::Status {
    absl::StatusOr<Schedule> schedule = Read(sql, id);
    if (!schedule.ok() || !actor.Sees(schedule->owner_id)) {
      return absl::NotFoundError(absl::StrCat("no schedule '", id, "'"));
    }
    L4D2_RETURN_IF_ERROR(Check(sql, schedule->owner_id, input));
    long long taken = 0;
    sql << "SELECT COUNT(*) FROM schedules WHERE owner_id = :o AND name = :n AND id <> :id",
        soci::use(schedule->owner_id), soci::use(input.name), soci::use(id), soci::into(taken);
    if (taken > 0) {
      return absl::AlreadyExistsError(absl::StrCat("schedule '", input.name, "' exists"));
    }
    const absl::Time now_time = clock_.Now();
    long long now = absl::ToUnixMillis(now_time);
    L4D2_ASSIGN_OR_RETURN(std::optional<absl::Time> next,
                          NextOccurrence(input.definition, now_time));
    long long next_ms = input.enabled && next ? absl::ToUnixMillis(*next) : 0;
    int enabled = input.enabled ? 1 : 0;
    std::string definition = ToJson(input.definition);
    sql << "UPDATE schedules SET name = :n, definition = :d, enabled = :e, next_run_at_ms = :x,"
           " updated_at_ms = :u, revision = revision + 1 WHERE id = :id",
        soci::use(input.name), soci::use(definition), soci::use(enabled), soci::use(next_ms),
        soci::use(now), soci::use(id);
    updated = Read(sql, id);
    return updated.status();
  }));
  return updated;
}

absl::StatusOr<Schedule> ScheduleStore::Get(const Actor& actor, const std::string& id) {
  absl::StatusOr<Schedule> schedule;
  L4D2_RETURN_IF_ERROR(db_.WithSession([&](soci::session& sql) -> absl::Status {
    schedule = Read(sql, id);
    return absl::OkStatus();
  }));
  if (schedule.ok() && !actor.Sees(schedule->owner_id)) {
    return absl::NotFoundError(absl::StrCat("no schedule '", id, "'"));
  }
  return schedule;
}

absl::StatusOr<std::vector<Schedule>> ScheduleStore::List(const Actor& actor,
                                                          const PageQuery& page) {
  std::vector<std::string> params;
  const std::string where = OwnedPageWhere(actor, page, params);
  std::vector<Schedule> schedules;
  L4D2_RETURN_IF_ERROR(db_.WithSession([&](soci::session& sql) -> absl::Status {
    // Covered by schedules_page (admins) and schedules_page_by_owner (operators).
    schedules = ReadSchedules(sql,
                              absl::StrCat("SELECT ", kColumns, " FROM schedules WHERE ", where,
                                           " ORDER BY name, id LIMIT ", page.limit),
                              params);
    return absl::OkStatus();
  }));
  return schedules;
}

absl::Status ScheduleStore::Delete(const Actor& actor, const std::string& id) {
  return db_.Transact([&](soci::session& sql) -> absl::Status {
    absl::StatusOr<Schedule> schedule = Read(sql, id);
    if (!schedule.ok() || !actor.Sees(schedule->owner_id)) {
      return absl::NotFoundError(absl::StrCat("no schedule '", id, "'"));
    }
    sql << "DELETE FROM schedules WHERE id = :id", soci::use(id);
    return absl::OkStatus();
  });
}

absl::StatusOr<std::vector<DueSchedule>> ScheduleStore::Due(absl::Time now, int limit) {
  std::vector<DueSchedule> due;
  L4D2_RETURN_IF_ERROR(db_.WithSession([&](soci::session& sql) -> absl::Status {
    // schedules_due: (enabled, next_run_at_ms); a disabled or never-again schedule has 0.
    std::vector<Schedule> schedules = ReadSchedules(
        sql,
        absl::StrCat("SELECT ", kColumns,
                     " FROM schedules WHERE enabled = 1 AND next_run_at_ms > 0"
                     " AND next_run_at_ms <= ",
                     absl::ToUnixMillis(now), " ORDER BY next_run_at_ms LIMIT ", limit),
        {});
    for (Schedule& schedule : schedules) {
      std::string role;
      int disabled = 0;
      sql << "SELECT role, disabled FROM users WHERE id = :id", soci::use(schedule.owner_id),
          soci::into(role), soci::into(disabled);
      due.push_back({.schedule = std::move(schedule),
                     .owner_admin = role == "admin",
                     .owner_disabled = disabled != 0});
    }
    return absl::OkStatus();
  }));
  return due;
}

bool ScheduleStore::Advance(soci::session& sql, const std::string& id, absl::Time due,
                            std::optional<absl::Time> next, const std::string& job_id,
                            absl::Time now) {
  long long due_ms = absl::ToUnixMillis(due);
  long long next_ms = next ? absl::ToUnixMillis(*next) : 0;
  long long now_ms = absl::ToUnixMillis(now);
  soci::statement update =
      (sql.prepare << "UPDATE schedules SET next_run_at_ms = :x,"
                      " last_run_at_ms = CASE WHEN :j1 = '' THEN last_run_at_ms ELSE CAST(:t AS "
                      "BIGINT) END,"
                      " last_job_id = CASE WHEN :j2 = '' THEN last_job_id ELSE :j3 END,"
                      " revision = revision + 1"
                      " WHERE id = :id AND enabled = 1 AND next_run_at_ms = :due",
       soci::use(next_ms), soci::use(job_id), soci::use(now_ms), soci::use(job_id),
       soci::use(job_id), soci::use(id), soci::use(due_ms));
  update.execute(true);
  return update.get_affected_rows() == 1;
}

void ScheduleStore::RecordRun(soci::session& sql, const std::string& id, const std::string& job_id,
                              absl::Time now) {
  long long now_ms = absl::ToUnixMillis(now);
  sql << "UPDATE schedules SET last_run_at_ms = :t, last_job_id = :j, revision = revision + 1"
         " WHERE id = :id",
      soci::use(now_ms), soci::use(job_id), soci::use(id);
}

}  // namespace l4d2::controller
