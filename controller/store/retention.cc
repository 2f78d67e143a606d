#include "controller/store/retention.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "common/file_util.h"
#include "common/logging.h"
#include "common/status_macros.h"
#include "controller/store/player_history.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"

namespace l4d2::controller {

namespace {

using google::protobuf::Struct;
using google::protobuf::Value;

void Set(Struct& row, const std::string& key, const std::string& text) {
  (*row.mutable_fields())[key].set_string_value(text);
}
void Set(Struct& row, const std::string& key, long long number, soci::indicator indicator) {
  Value& value = (*row.mutable_fields())[key];
  if (indicator == soci::i_null) {
    value.set_null_value(google::protobuf::NULL_VALUE);
  } else {
    value.set_number_value(static_cast<double>(number));
  }
}

std::string JsonLine(const Struct& row) {
  std::string json;
  (void)google::protobuf::util::MessageToJsonString(row, &json);
  return json + "\n";
}

}  // namespace

Retention::Retention(Database& db, Clock& clock, RetentionPolicy policy, LeaseStore* leases)
    : db_(db), clock_(clock), policy_(std::move(policy)), leases_(leases) {}

Retention::~Retention() { Stop(); }

absl::StatusOr<PruneCounts> Retention::Prune() {
  PruneCounts counts;
  if (leases_ != nullptr && !policy_.owner.empty()) {
    absl::StatusOr<bool> leader =
        leases_->TryAcquire("retention", policy_.owner, policy_.interval * 3);
    counts.leader = leader.value_or(false);
    if (!counts.leader) return counts;
  }
  const absl::Time now = clock_.Now();
  for (const auto& [states, age] : {std::pair{"'succeeded', 'cancelled'", policy_.jobs},
                                    std::pair{"'failed'", policy_.failed_jobs}}) {
    while (true) {
      L4D2_ASSIGN_OR_RETURN(const int64_t pruned, PruneJobs(states, now - age, counts));
      if (pruned == 0) break;
    }
  }
  while (true) {
    L4D2_ASSIGN_OR_RETURN(const int64_t pruned, PruneAudit(now - policy_.audit));
    if (pruned == 0) break;
    counts.audit += pruned;
  }
  PlayerHistory players(db_, clock_);
  while (true) {
    L4D2_ASSIGN_OR_RETURN(const int64_t pruned,
                          players.Prune(now - policy_.players, policy_.batch));
    if (pruned == 0) break;
    counts.player_rows += pruned;
  }
  return counts;
}

absl::StatusOr<int64_t> Retention::PruneJobs(const char* states, absl::Time before,
                                             PruneCounts& counts) {
  // The oldest finished first, from the index on finished_at_ms.
  std::vector<std::string> ids;
  std::string lines;
  L4D2_RETURN_IF_ERROR(db_.WithSession([&](soci::session& sql) -> absl::Status {
    long long before_ms = absl::ToUnixMillis(before);
    int limit = policy_.batch;
    std::string id, kind, state, params, created_by, owner_id, result, error_message;
    long long created_at = 0, started_at = 0, finished_at = 0, attempt = 0, error_code = 0;
    soci::indicator started_null = soci::i_ok, finished_null = soci::i_ok;
    soci::statement jobs =
        (sql.prepare << "SELECT id, kind, state, params, created_by, owner_id, attempt,"
                        " created_at_ms, started_at_ms, finished_at_ms, result, error_code,"
                        " error_message FROM jobs WHERE finished_at_ms < :before AND state IN ("
                     << states << ") ORDER BY finished_at_ms LIMIT :limit",
         soci::use(before_ms), soci::use(limit), soci::into(id), soci::into(kind),
         soci::into(state), soci::into(params), soci::into(created_by), soci::into(owner_id),
         soci::into(attempt), soci::into(created_at), soci::into(started_at, started_null),
         soci::into(finished_at, finished_null), soci::into(result), soci::into(error_code),
         soci::into(error_message));
    jobs.execute();
    std::vector<Struct> rows;
    while (jobs.fetch()) {
      ids.push_back(id);
      if (policy_.export_dir.empty()) continue;
      Struct& row = rows.emplace_back();
      for (const auto& [key, text] : {std::pair{"id", &id},
                                      {"kind", &kind},
                                      {"state", &state},
                                      {"params", &params},
                                      {"created_by", &created_by},
                                      {"owner_id", &owner_id},
                                      {"result", &result},
                                      {"error_message", &error_message}}) {
        Set(row, key, *text);
      }
      Set(row, "attempt", attempt, soci::i_ok);
      Set(row, "error_code", error_code, soci::i_ok);
      Set(row, "created_at_ms", created_at, soci::i_ok);
      Set(row, "started_at_ms", started_at, started_null);
      Set(row, "finished_at_ms", finished_at, finished_null);
    }
    // Each job's events go with it: those of the whole batch in one query (the same jobs,
    // by the same condition; a job that finished in between has its events skipped here and
    // is in the next batch).
    if (!rows.empty()) {
      absl::flat_hash_map<std::string, Struct*> by_id;
      for (Struct& row : rows) {
        (*row.mutable_fields())["events"].mutable_list_value();  // [] for a job without any
        by_id[row.fields().at("id").string_value()] = &row;
      }
      std::string job_id, event_kind, data;
      long long seq = 0, at = 0;
      soci::statement events =
          (sql.prepare << "SELECT job_id, seq, at_ms, kind, data FROM job_events WHERE job_id IN"
                          " (SELECT id FROM jobs WHERE finished_at_ms < :before AND state IN ("
                       << states << ") ORDER BY finished_at_ms LIMIT :limit) ORDER BY job_id, seq",
           soci::use(before_ms), soci::use(limit), soci::into(job_id), soci::into(seq),
           soci::into(at), soci::into(event_kind), soci::into(data));
      events.execute();
      while (events.fetch()) {
        auto row = by_id.find(job_id);
        if (row == by_id.end()) continue;
        Struct* event = (*row->second->mutable_fields())["events"]
                            .mutable_list_value()
                            ->add_values()
                            ->mutable_struct_value();
        Set(*event, "seq", seq, soci::i_ok);
        Set(*event, "at_ms", at, soci::i_ok);
        Set(*event, "kind", event_kind);
        Set(*event, "data", data);
      }
    }
    for (Struct& row : rows) lines += JsonLine(row);
    return absl::OkStatus();
  }));
  if (ids.empty()) return 0;
  if (!policy_.export_dir.empty()) L4D2_RETURN_IF_ERROR(Export("jobs", lines));
  L4D2_RETURN_IF_ERROR(db_.Transact([&](soci::session& sql) -> absl::Status {
    soci::statement events =
        (sql.prepare << "DELETE FROM job_events WHERE job_id = :id", soci::use(ids));
    events.execute(true);
    counts.job_events += events.get_affected_rows();
    soci::statement jobs = (sql.prepare << "DELETE FROM jobs WHERE id = :id", soci::use(ids));
    jobs.execute(true);
    counts.jobs += jobs.get_affected_rows();
    return absl::OkStatus();
  }));
  return static_cast<int64_t>(ids.size());
}

absl::StatusOr<int64_t> Retention::PruneAudit(absl::Time before) {
  std::vector<std::string> ids;
  std::string lines;
  L4D2_RETURN_IF_ERROR(db_.WithSession([&](soci::session& sql) -> absl::Status {
    long long before_ms = absl::ToUnixMillis(before);
    int limit = policy_.batch;
    std::string id, actor_id, action, target, detail, owner_id;
    long long at = 0;
    soci::indicator actor_null = soci::i_ok;
    soci::statement entries =
        (sql.prepare << "SELECT id, at_ms, actor_id, action, target, detail, owner_id"
                        " FROM audit_log WHERE at_ms < :before ORDER BY at_ms LIMIT :limit",
         soci::use(before_ms), soci::use(limit), soci::into(id), soci::into(at),
         soci::into(actor_id, actor_null), soci::into(action), soci::into(target),
         soci::into(detail), soci::into(owner_id));
    entries.execute();
    while (entries.fetch()) {
      ids.push_back(id);
      if (policy_.export_dir.empty()) continue;
      Struct row;
      Set(row, "id", id);
      Set(row, "at_ms", at, soci::i_ok);
      if (actor_null == soci::i_null) {
        (*row.mutable_fields())["actor_id"].set_null_value(google::protobuf::NULL_VALUE);
      } else {
        Set(row, "actor_id", actor_id);
      }
      Set(row, "action", action);
      Set(row, "target", target);
      Set(row, "detail", detail);
      Set(row, "owner_id", owner_id);
      lines += JsonLine(row);
    }
    return absl::OkStatus();
  }));
  if (ids.empty()) return 0;
  if (!policy_.export_dir.empty()) L4D2_RETURN_IF_ERROR(Export("audit", lines));
  int64_t deleted = 0;
  L4D2_RETURN_IF_ERROR(db_.Transact([&](soci::session& sql) -> absl::Status {
    soci::statement entries =
        (sql.prepare << "DELETE FROM audit_log WHERE id = :id", soci::use(ids));
    entries.execute(true);
    deleted = entries.get_affected_rows();
    return absl::OkStatus();
  }));
  return deleted;
}

absl::Status Retention::Export(const std::string& kind, const std::string& lines) {
  std::error_code error;
  std::filesystem::create_directories(policy_.export_dir, error);
  if (error) return ErrnoError(error.value(), "create", policy_.export_dir);
  const std::string path =
      absl::StrCat(policy_.export_dir, "/", kind, "-",
                   absl::FormatTime("%Y-%m-%d", clock_.Now(), absl::UTCTimeZone()), ".jsonl");
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) return ErrnoError(errno, "open", path);
  absl::Status status = WriteFully(fd, lines, path);
  if (status.ok() && ::fsync(fd) != 0) status = ErrnoError(errno, "fsync", path);
  ::close(fd);
  return status;
}

void Retention::Start() {
  thread_ = std::thread([this] {
    absl::MutexLock lock(&mutex_);
    while (!mutex_.AwaitWithDeadline(absl::Condition(&stopping_), RealDeadline(policy_.interval))) {
      mutex_.Unlock();
      absl::StatusOr<PruneCounts> pruned = Prune();
      if (!pruned.ok()) {
        L4D2_LOG(WARNING) << "retention: " << pruned.status().message();
      } else if (pruned->jobs + pruned->audit + pruned->player_rows > 0) {
        L4D2_LOG(INFO) << "retention: pruned " << pruned->jobs << " jobs (" << pruned->job_events
                       << " events), " << pruned->audit << " audit entries and "
                       << pruned->player_rows << " player sessions and timeline events";
      }
      mutex_.Lock();
    }
  });
}

void Retention::Stop() {
  {
    absl::MutexLock lock(&mutex_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

}  // namespace l4d2::controller
