#include "controller/store/job_queue.h"

#include <algorithm>
#include <limits>
#include <map>
#include <set>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/status_macros.h"
#include "controller/store/ids.h"
#include "controller/store/row_batch.h"
#include "soci/soci.h"

namespace l4d2::controller {
namespace {

constexpr const char* kStateNames[] = {"queued", "running", "succeeded", "failed", "cancelled"};

JobState ParseState(const std::string& name) {
  for (int i = 0; i < 5; ++i) {
    if (name == kStateNames[i]) return static_cast<JobState>(i);
  }
  return JobState::kFailed;
}

long long Millis(absl::Time time) { return absl::ToUnixMillis(time); }

constexpr char kJobColumns[] =
    "id, kind, state, lock_key, params, attempt, max_attempts, not_before_ms, lease_owner,"
    " lease_expires_ms, cancel_requested, created_by, created_at_ms, result, error_code,"
    " error_message, revision";

// Jobs matching `where` (SQL over the jobs table, `params` bound in order), by id (or as
// `order` says, a limit included).
std::vector<Job> ReadJobs(soci::session& sql, const std::string& where,
                          const std::vector<std::string>& params, const std::string& order = "id") {
  Job row;
  std::string state, message;
  int attempt = 0, max_attempts = 0, cancel = 0, code = 0;
  long long not_before = 0, lease_expires = 0, created_at = 0, revision = 0;
  soci::statement statement(sql);
  for (const std::string& param : params) statement.exchange(soci::use(param));
  statement.exchange(soci::into(row.id));
  statement.exchange(soci::into(row.kind));
  statement.exchange(soci::into(state));
  statement.exchange(soci::into(row.lock_key));
  statement.exchange(soci::into(row.params));
  statement.exchange(soci::into(attempt));
  statement.exchange(soci::into(max_attempts));
  statement.exchange(soci::into(not_before));
  statement.exchange(soci::into(row.lease_owner));
  statement.exchange(soci::into(lease_expires));
  statement.exchange(soci::into(cancel));
  statement.exchange(soci::into(row.created_by));
  statement.exchange(soci::into(created_at));
  statement.exchange(soci::into(row.result));
  statement.exchange(soci::into(code));
  statement.exchange(soci::into(message));
  statement.exchange(soci::into(revision));
  statement.alloc();
  statement.prepare(
      absl::StrCat("SELECT ", kJobColumns, " FROM jobs WHERE ", where, " ORDER BY ", order));
  statement.define_and_bind();
  statement.execute(false);
  std::vector<Job> jobs;
  while (statement.fetch()) {
    Job job = row;
    job.state = ParseState(state);
    job.attempt = attempt;
    job.max_attempts = max_attempts;
    job.not_before = absl::FromUnixMillis(not_before);
    job.lease_expires = absl::FromUnixMillis(lease_expires);
    job.cancel_requested = cancel != 0;
    job.created_at = absl::FromUnixMillis(created_at);
    job.error = absl::Status(static_cast<absl::StatusCode>(code), message);
    job.revision = revision;
    jobs.push_back(std::move(job));
  }
  return jobs;
}

absl::StatusOr<Job> ReadJob(soci::session& sql, const std::string& id) {
  std::vector<Job> jobs = ReadJobs(sql, "id = :id", {id});
  if (jobs.empty()) return absl::NotFoundError(absl::StrCat("no job '", id, "'"));
  return jobs.front();
}

// Advisory locks of claims on PostgreSQL: a class of their own, and a key's 32-bit FNV-1a hash
// (stable across processes, unlike std::hash).
constexpr int kClaimLockClass = 0x6c346a;  // "l4j"
int LockHash(const std::string& key) {
  uint32_t hash = 2166136261u;
  for (unsigned char c : key) hash = (hash ^ c) * 16777619u;
  return static_cast<int>(hash);
}

bool IsHex(const std::string& text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
  });
}

long long Affected(soci::statement& statement) {
  statement.execute(true);
  return statement.get_affected_rows();
}

// Claim's steps, each within its transaction.

// Workers that vanished: their jobs go back to the queue, or fail with no attempts left.
void RequeueExpiredLeases(soci::session& sql, long long now) {
  int unavailable = static_cast<int>(absl::StatusCode::kUnavailable);
  sql << "UPDATE jobs SET revision = revision + 1,"
         " state = CASE WHEN attempt >= max_attempts THEN 'failed' ELSE 'queued' END,"
         " finished_at_ms = CASE WHEN attempt >= max_attempts THEN CAST(:now1 AS BIGINT) ELSE "
         "NULL END,"
         " error_code = :code, error_message = 'the worker''s lease expired',"
         " lease_owner = '', not_before_ms = :now2"
         " WHERE state = 'running' AND lease_expires_ms < :now3",
      soci::use(now), soci::use(unavailable), soci::use(now), soci::use(now);
}

// The lock keys of running jobs.
std::set<std::string> HeldLockKeys(soci::session& sql) {
  std::set<std::string> held;
  std::string key;
  soci::statement running =
      (sql.prepare << "SELECT lock_key FROM jobs WHERE state = 'running' AND lock_key <> ''",
       soci::into(key));
  running.execute();
  while (running.fetch()) held.insert(key);
  return held;
}

struct Candidate {
  std::string id;
  std::string lock_key;
};

// Due queued jobs, oldest first, at most `limit`; on PostgreSQL rows other claimers hold are
// skipped, and those read are locked until the transaction ends.
std::vector<Candidate> DueCandidates(soci::session& sql, long long now, int limit, bool postgres) {
  std::vector<std::string> ids(limit), keys(limit);
  sql << "SELECT id, lock_key FROM jobs WHERE state = 'queued' AND not_before_ms <= :now"
         " ORDER BY id LIMIT :limit"
      << (postgres ? " FOR UPDATE SKIP LOCKED" : ""),
      soci::use(now), soci::use(limit), soci::into(ids), soci::into(keys);
  std::vector<Candidate> candidates;
  for (size_t i = 0; i < ids.size(); ++i) candidates.push_back({ids[i], keys[i]});
  return candidates;
}

// The oldest candidates, one per lock key not `held`, at most `max`.
std::vector<Candidate> OnePerFreeLock(std::vector<Candidate> candidates, std::set<std::string> held,
                                      int max) {
  std::vector<Candidate> chosen;
  for (Candidate& job : candidates) {
    if (static_cast<int>(chosen.size()) >= max) break;
    if (!job.lock_key.empty() && !held.insert(job.lock_key).second) continue;
    if (!IsHex(job.id)) continue;  // Never ours; inlined in SQL only when it is hex.
    chosen.push_back(std::move(job));
  }
  return chosen;
}

// PostgreSQL: another controller may be claiming the same lock keys right now, and the unique
// index would make our update wait for its commit. An advisory lock per key, tried without
// waiting and in one round trip for the batch, drops those jobs instead.
void KeepThoseWeCanLock(soci::session& sql, std::vector<Candidate>& chosen) {
  std::string values;
  for (const Candidate& job : chosen) {
    if (job.lock_key.empty()) continue;
    absl::StrAppend(&values, values.empty() ? "" : ",", "(", LockHash(job.lock_key), ")");
  }
  if (values.empty()) return;
  std::set<int> got;
  int hash = 0;
  soci::statement locks =
      (sql.prepare << "SELECT h FROM (VALUES " << values
                   << ") AS t(h) WHERE pg_try_advisory_xact_lock(" << kClaimLockClass << ", h)",
       soci::into(hash));
  locks.execute();
  while (locks.fetch()) got.insert(hash);
  std::erase_if(chosen, [&](const Candidate& job) {
    return !job.lock_key.empty() && !got.contains(LockHash(job.lock_key));
  });
}

struct Claimer {
  std::string owner;
  long long expires = 0;
  long long now = 0;
};

// Marks the chosen jobs (`in`: their quoted ids) running for `claimer`: one update for the
// batch. A key taken and committed by another controller since we read the running ones makes
// the unique index refuse it: then one by one, each in a savepoint (PostgreSQL; SQLite's one
// writer cannot meet that).
void MarkRunning(soci::session& sql, const std::vector<Candidate>& chosen, const std::string& in,
                 Claimer claimer, bool postgres) {
  const std::string update_all = absl::StrCat(
      "UPDATE jobs SET revision = revision + 1, state = 'running', attempt = attempt + 1,"
      " lease_owner = :owner, lease_expires_ms = :expires,"
      " started_at_ms = COALESCE(started_at_ms, :now)"
      " WHERE state = 'queued' AND id IN (",
      in, ")");
  if (postgres) sql << "SAVEPOINT claim_batch";
  try {
    sql << update_all, soci::use(claimer.owner), soci::use(claimer.expires), soci::use(claimer.now);
    if (postgres) sql << "RELEASE SAVEPOINT claim_batch";
    return;
  } catch (const soci::soci_error&) {
    if (!postgres) throw;
    sql << "ROLLBACK TO SAVEPOINT claim_batch";
  }
  std::string id;
  soci::statement update =
      (sql.prepare
           << "UPDATE jobs SET revision = revision + 1, state = 'running', attempt = attempt + 1,"
              " lease_owner = :owner, lease_expires_ms = :expires,"
              " started_at_ms = COALESCE(started_at_ms, :now)"
              " WHERE id = :id AND state = 'queued'",
       soci::use(claimer.owner), soci::use(claimer.expires), soci::use(claimer.now), soci::use(id));
  for (const Candidate& job : chosen) {
    id = job.id;
    sql << "SAVEPOINT claim_one";
    try {
      update.execute(true);
      sql << "RELEASE SAVEPOINT claim_one";
    } catch (const soci::soci_error&) {
      sql << "ROLLBACK TO SAVEPOINT claim_one";
    }
  }
}

// Appends events, numbered after each job's last event (only a job's holder writes its
// events, so this cannot race), with one statement per 500 rows: a round trip per batch, not
// per event. INVALID_ARGUMENT for a malformed job id.
absl::Status InsertJobEvents(soci::session& sql, const std::vector<NewJobEvent>& events,
                             long long now) {
  std::map<std::string, long long> last;
  std::string in;
  for (const NewJobEvent& event : events) {
    if (!IsHex(event.job_id)) {
      return absl::InvalidArgumentError(absl::StrCat("no job '", event.job_id, "'"));
    }
    if (last.emplace(event.job_id, 0).second) {
      absl::StrAppend(&in, in.empty() ? "'" : ",'", event.job_id, "'");
    }
  }
  {
    std::string job_id;
    long long seq = 0;
    soci::statement max = (sql.prepare << "SELECT job_id, MAX(seq) FROM job_events WHERE"
                                          " job_id IN ("
                                       << in << ") GROUP BY job_id",
                           soci::into(job_id), soci::into(seq));
    max.execute();
    while (max.fetch()) last[job_id] = seq;
  }
  std::vector<long long> seqs;
  seqs.reserve(events.size());
  for (const NewJobEvent& event : events) seqs.push_back(++last[event.job_id]);
  // At most 500 rows per statement (SQLite binds at most 32,766 values).
  constexpr size_t kRows = 500;
  for (size_t first = 0; first < events.size(); first += kRows) {
    const size_t end = std::min(events.size(), first + kRows);
    std::string values;
    soci::statement insert(sql);
    for (size_t i = first; i < end; ++i) {
      absl::StrAppend(&values, i == first ? "" : ",", "(:j", i, ", :s", i, ", :t", i, ", :k", i,
                      ", :d", i, ")");
      insert.exchange(soci::use(events[i].job_id));
      insert.exchange(soci::use(seqs[i]));
      insert.exchange(soci::use(now));
      insert.exchange(soci::use(events[i].kind));
      insert.exchange(soci::use(events[i].data));
    }
    insert.alloc();
    insert.prepare("INSERT INTO job_events (job_id, seq, at_ms, kind, data) VALUES " + values);
    insert.define_and_bind();
    insert.execute(true);
  }
  return absl::OkStatus();
}

// Ends (or requeues) jobs held by their owner; one status per ending, FAILED_PRECONDITION for a
// job no longer held by the owner named.
std::vector<absl::Status> EndJobs(soci::session& sql, const std::vector<JobEnding>& endings,
                                  long long now, absl::Time now_time) {
  std::vector<absl::Status> results;
  std::string state, id, owner, result, message;
  int code = 0;
  long long next = 0;
  // A retry becomes a failure when no attempt is left or a user asked to cancel.
  soci::statement update =
      (sql.prepare
           << "UPDATE jobs SET revision = revision + 1, state = CASE WHEN :s1 = 'queued' AND"
              " (attempt >= max_attempts OR cancel_requested <> 0) THEN 'failed'"
              " ELSE :s2 END,"
              " finished_at_ms = CASE WHEN :s3 = 'queued' AND attempt < max_attempts"
              " AND cancel_requested = 0 THEN NULL ELSE CAST(:now AS BIGINT) END,"
              // A retry keeps what the job saved of its progress (SaveProgress).
              " result = CASE WHEN :s4 = 'queued' THEN result ELSE :result END,"
              " error_code = :code, error_message = :message,"
              " lease_owner = '', lease_expires_ms = 0, not_before_ms = :next"
              " WHERE id = :id AND state = 'running' AND lease_owner = :owner",
       soci::use(state), soci::use(state), soci::use(state), soci::use(now), soci::use(state),
       soci::use(result), soci::use(code), soci::use(message), soci::use(next), soci::use(id),
       soci::use(owner));
  // A run parked between its steps: back in the queue without using an attempt, its progress
  // kept for its next claim; cancelled instead when a user asked meanwhile.
  int cancelled_code = static_cast<int>(absl::StatusCode::kCancelled);
  soci::statement park =
      (sql.prepare << "UPDATE jobs SET revision = revision + 1,"
                      " state = CASE WHEN cancel_requested <> 0 THEN 'cancelled' ELSE 'queued' END,"
                      " finished_at_ms = CASE WHEN cancel_requested <> 0 THEN CAST(:now AS BIGINT)"
                      " ELSE NULL END,"
                      " attempt = attempt - 1, result = :result,"
                      " error_code = CASE WHEN cancel_requested <> 0 THEN :cancelled ELSE 0 END,"
                      " error_message = CASE WHEN cancel_requested <> 0 THEN 'cancelled' ELSE ''"
                      " END,"
                      " lease_owner = '', lease_expires_ms = 0, not_before_ms = :next"
                      " WHERE id = :id AND state = 'running' AND lease_owner = :owner",
       soci::use(now), soci::use(result), soci::use(cancelled_code), soci::use(next), soci::use(id),
       soci::use(owner));
  for (const JobEnding& ending : endings) {
    state = JobStateName(ending.state);
    id = ending.id;
    owner = ending.owner;
    result = ending.result;
    code = static_cast<int>(ending.error.code());
    message = std::string(ending.error.message());
    next = Millis(ending.state == JobState::kQueued ? ending.not_before : now_time);
    soci::statement& statement = ending.park ? park : update;
    statement.execute(true);
    results.push_back(statement.get_affected_rows() == 1
                          ? absl::OkStatus()
                          : absl::FailedPreconditionError(absl::StrCat(
                                "job '", ending.id, "' is not held by ", ending.owner)));
  }
  return results;
}

}  // namespace

const char* JobStateName(JobState state) { return kStateNames[static_cast<int>(state)]; }

JobQueue::JobQueue(Database& db, Clock& clock) : db_(db), clock_(clock) {}

absl::Duration JobQueue::Backoff(int attempt) {
  if (attempt <= 1) return absl::Seconds(1);
  return std::min(absl::Minutes(5), absl::Seconds(1) * (int64_t{1} << std::min(attempt - 1, 20)));
}

absl::StatusOr<std::string> JobQueue::Enqueue(const NewJob& job) {
  std::vector<std::string> ids;
  L4D2_RETURN_IF_ERROR(db_.Transact([&](soci::session& sql) -> absl::Status {
    L4D2_ASSIGN_OR_RETURN(ids, Enqueue(sql, absl::MakeConstSpan(&job, 1)));
    return absl::OkStatus();
  }));
  return std::move(ids.front());
}

absl::StatusOr<std::vector<std::string>> JobQueue::Enqueue(soci::session& sql,
                                                           absl::Span<const NewJob> jobs) {
  for (const NewJob& job : jobs) {
    if (job.kind.empty() || job.max_attempts < 1) {
      return absl::InvalidArgumentError("job: a kind and at least one attempt are required");
    }
  }
  std::vector<std::string> ids;
  if (jobs.empty()) return ids;
  const absl::Time now = clock_.Now();
  // Who sees a job besides admins: a server job's server owner, whoever queued it; otherwise
  // the user who queued it ("" for the system's own). Server owners are read in one query per
  // chunk of servers.
  absl::flat_hash_map<std::string, std::string> server_owners;
  std::vector<std::string> servers;
  for (const NewJob& job : jobs) {
    if (absl::StartsWith(job.lock_key, "server:")) {
      servers.emplace_back(absl::string_view(job.lock_key).substr(7));
    }
  }
  for (size_t at = 0; at < servers.size(); at += kIdsPerStatement) {
    std::vector<std::string> params;
    const std::string in = IdIn(absl::MakeConstSpan(servers).subspan(at, kIdsPerStatement), params);
    std::string id, owner;
    soci::statement read(sql);
    for (const std::string& param : params) read.exchange(soci::use(param));
    read.exchange(soci::into(id));
    read.exchange(soci::into(owner));
    read.alloc();
    read.prepare("SELECT id, owner_id FROM servers WHERE " + in);
    read.define_and_bind();
    read.execute(false);
    while (read.fetch()) server_owners[id] = owner;
  }
  RowBatch rows(
      "INSERT INTO jobs (id, kind, state, lock_key, params, max_attempts, not_before_ms,"
      " created_by, created_at_ms, owner_id)",
      10);
  for (const NewJob& job : jobs) {
    const std::string& id = ids.emplace_back(TimeOrderedId(now));  // The queue is FIFO by id.
    std::string owner(absl::StartsWith(job.created_by, "user:")
                          ? absl::string_view(job.created_by).substr(5)
                          : absl::string_view());
    if (absl::StartsWith(job.lock_key, "server:")) {
      auto it = server_owners.find(absl::string_view(job.lock_key).substr(7));
      if (it != server_owners.end()) owner = it->second;
    }
    rows.Add({id, job.kind, "queued", job.lock_key, job.params, int64_t{job.max_attempts},
              Millis(std::max(now, job.not_before)), job.created_by, Millis(now),
              std::move(owner)});
  }
  rows.Write(sql);
  return ids;
}

absl::StatusOr<std::vector<Job>> JobQueue::Claim(const std::string& owner, int max,
                                                 absl::Duration lease) {
  std::vector<Job> claimed;
  if (max < 1) return claimed;
  const bool postgres = db_.backend() == DatabaseBackend::kPostgresql;
  L4D2_RETURN_IF_ERROR(db_.Transact([&](soci::session& sql) -> absl::Status {
    const long long now = Millis(clock_.Now());
    const long long expires = Millis(clock_.Now() + lease);
    // Leases last seconds: one sweep a second per process is enough.
    int64_t last = last_sweep_ms_.load();
    if (now - last >= 1000 && last_sweep_ms_.compare_exchange_strong(last, now)) {
      RequeueExpiredLeases(sql, now);
    }
    std::set<std::string> held = HeldLockKeys(sql);
    // More candidates than asked for: some may wait for a lock.
    std::vector<Candidate> chosen =
        OnePerFreeLock(DueCandidates(sql, now, max * 4 + 16, postgres), std::move(held), max);
    if (postgres) KeepThoseWeCanLock(sql, chosen);
    if (chosen.empty()) return absl::OkStatus();
    std::string in;
    for (const Candidate& job : chosen) absl::StrAppend(&in, in.empty() ? "'" : ",'", job.id, "'");
    MarkRunning(sql, chosen, in, {.owner = owner, .expires = expires, .now = now}, postgres);
    // What this transaction claimed, in queue order.
    claimed =
        ReadJobs(sql,
                 absl::StrCat("id IN (", in, ") AND state = 'running' AND lease_owner = :owner",
                              " AND lease_expires_ms = ", expires),
                 {owner});
    return absl::OkStatus();
  }));
  return claimed;
}

absl::StatusOr<std::vector<absl::Status>> JobQueue::Write(const std::vector<NewJobEvent>& events,
                                                          const std::vector<JobEnding>& endings) {
  std::vector<absl::Status> results;
  if (events.empty() && endings.empty()) return results;
  L4D2_RETURN_IF_ERROR(db_.Transact([&](soci::session& sql) -> absl::Status {
    const absl::Time now = clock_.Now();
    if (!events.empty()) L4D2_RETURN_IF_ERROR(InsertJobEvents(sql, events, Millis(now)));
    results =
        endings.empty() ? std::vector<absl::Status>() : EndJobs(sql, endings, Millis(now), now);
    return absl::OkStatus();
  }));
  return results;
}

absl::StatusOr<std::vector<LeaseCheck>> JobQueue::RenewAll(const std::vector<std::string>& ids,
                                                           const std::string& owner,
                                                           absl::Duration lease) {
  std::vector<LeaseCheck> checks;
  if (ids.empty()) return checks;
  L4D2_RETURN_IF_ERROR(db_.Transact([&](soci::session& sql) -> absl::Status {
    checks.clear();
    long long expires = Millis(clock_.Now() + lease);
    std::string id;
    int requested = 0;
    soci::statement update =
        (sql.prepare << "UPDATE jobs SET lease_expires_ms = :expires"
                        " WHERE id = :id AND state = 'running' AND lease_owner = :owner",
         soci::use(expires), soci::use(id), soci::use(owner));
    soci::statement cancel = (sql.prepare << "SELECT cancel_requested FROM jobs WHERE id = :id",
                              soci::use(id), soci::into(requested));
    for (const std::string& one : ids) {
      id = one;
      update.execute(true);
      LeaseCheck check{.held = update.get_affected_rows() == 1};
      if (check.held) {
        cancel.execute(true);
        check.cancel_requested = requested != 0;
      }
      checks.push_back(check);
    }
    return absl::OkStatus();
  }));
  return checks;
}

absl::StatusOr<bool> JobQueue::Renew(const std::string& id, const std::string& owner,
                                     absl::Duration lease) {
  L4D2_ASSIGN_OR_RETURN(std::vector<LeaseCheck> checks, RenewAll({id}, owner, lease));
  if (!checks.front().held) {
    return absl::FailedPreconditionError(absl::StrCat("job '", id, "' is not held by ", owner));
  }
  return checks.front().cancel_requested;
}

absl::Status JobQueue::EndHeld(const std::string& id, const std::string& owner, JobState state,
                               const std::string& result, const absl::Status& error,
                               absl::Time not_before) {
  L4D2_ASSIGN_OR_RETURN(std::vector<absl::Status> ended, Write({}, {{.id = id,
                                                                     .owner = owner,
                                                                     .state = state,
                                                                     .result = result,
                                                                     .error = error,
                                                                     .not_before = not_before}}));
  return ended.front();
}

bool JobQueue::Unfinished(soci::session& sql, const std::string& lock_key) {
  long long unfinished = 0;
  sql << "SELECT COUNT(*) FROM jobs WHERE lock_key = :k AND state IN ('queued', 'running')",
      soci::use(lock_key), soci::into(unfinished);
  return unfinished > 0;
}

absl::Status JobQueue::SaveProgress(soci::session& sql, const std::string& id,
                                    const std::string& owner, const std::string& progress) {
  soci::statement update =
      (sql.prepare << "UPDATE jobs SET result = :r WHERE id = :id AND state = 'running'"
                      " AND lease_owner = :owner",
       soci::use(progress), soci::use(id), soci::use(owner));
  if (Affected(update) != 1) {
    return absl::FailedPreconditionError(absl::StrCat("job '", id, "' is not held by ", owner));
  }
  return absl::OkStatus();
}

absl::Status JobQueue::Complete(const std::string& id, const std::string& owner,
                                const std::string& result) {
  return EndHeld(id, owner, JobState::kSucceeded, result, absl::OkStatus(), clock_.Now());
}

absl::Status JobQueue::Fail(const std::string& id, const std::string& owner,
                            const absl::Status& error, bool transient) {
  L4D2_ASSIGN_OR_RETURN(Job job, Get(id));
  if (absl::IsCancelled(error)) {
    return EndHeld(id, owner, JobState::kCancelled, "", error, clock_.Now());
  }
  return EndHeld(id, owner, transient ? JobState::kQueued : JobState::kFailed, "", error,
                 clock_.Now() + Backoff(job.attempt));
}

absl::Status JobQueue::Cancel(const std::string& id) {
  return db_.Transact([&](soci::session& sql) -> absl::Status {
    long long now = Millis(clock_.Now());
    int code = static_cast<int>(absl::StatusCode::kCancelled);
    soci::statement queued = (sql.prepare << "UPDATE jobs SET revision = revision + 1, state = "
                                             "'cancelled', finished_at_ms = :now,"
                                             " error_code = :code, error_message = 'cancelled'"
                                             " WHERE id = :id AND state = 'queued'",
                              soci::use(now), soci::use(code), soci::use(id));
    if (Affected(queued) == 1) return absl::OkStatus();
    soci::statement running =
        (sql.prepare << "UPDATE jobs SET revision = revision + 1, cancel_requested = 1"
                        " WHERE id = :id AND state = 'running'",
         soci::use(id));
    if (Affected(running) == 1) return absl::OkStatus();
    L4D2_ASSIGN_OR_RETURN(Job job, ReadJob(sql, id));
    return absl::FailedPreconditionError(
        absl::StrCat("job '", id, "' has already ended (", JobStateName(job.state), ")"));
  });
}

namespace {

// The conditions of a list query; `params` gets their values.
std::string ListWhere(const JobListQuery& query, std::vector<std::string>& params) {
  std::string where = "1 = 1";
  if (!query.visible_to.empty()) {
    // A user's own jobs and those of the servers they own, whoever queued them: the owner
    // Enqueue recorded (index jobs_by_owner keeps a page a page).
    where += " AND owner_id = :owner";
    params.push_back(query.visible_to);
  }
  if (!query.kind.empty()) {
    where += " AND kind = :kind";
    params.push_back(query.kind);
  }
  if (query.state) {
    where += " AND state = :state";
    params.push_back(JobStateName(*query.state));
  }
  if (!query.lock_key.empty()) {
    where += " AND lock_key = :lock";
    params.push_back(query.lock_key);
  }
  if (!query.before_id.empty()) {
    where += " AND id < :before";
    params.push_back(query.before_id);
  }
  return where;
}

}  // namespace

absl::StatusOr<std::vector<Job>> JobQueue::List(const JobListQuery& query) {
  std::vector<std::string> params;
  const std::string where = ListWhere(query, params);
  const int limit = std::clamp(query.limit, 1, 1000);
  std::vector<Job> jobs;
  L4D2_RETURN_IF_ERROR(db_.WithSession([&](soci::session& sql) {
    jobs = ReadJobs(sql, where, params, absl::StrCat("id DESC LIMIT ", limit));
    return absl::OkStatus();
  }));
  return jobs;
}

absl::StatusOr<std::vector<RowRevision>> JobQueue::ListRevisions(const JobListQuery& query) {
  std::vector<std::string> params;
  const std::string where = ListWhere(query, params);
  const int limit = std::clamp(query.limit, 1, 1000);
  std::vector<RowRevision> rows;
  L4D2_RETURN_IF_ERROR(db_.WithSession([&](soci::session& sql) {
    // Covered by jobs_by_owner (operators) and jobs_page (admins).
    rows = ReadRowRevisions(sql,
                            absl::StrCat("SELECT id, id, revision FROM jobs WHERE ", where,
                                         " ORDER BY id DESC LIMIT ", limit),
                            params);
    return absl::OkStatus();
  }));
  return rows;
}

absl::StatusOr<std::vector<Job>> JobQueue::GetMany(const std::string& visible_to,
                                                   absl::Span<const std::string> ids) {
  std::vector<Job> jobs;
  if (ids.empty()) return jobs;
  std::vector<std::string> params;
  std::string where = IdIn(ids, params);
  if (!visible_to.empty()) {
    where += " AND owner_id = :owner";
    params.push_back(visible_to);
  }
  L4D2_RETURN_IF_ERROR(db_.WithSession([&](soci::session& sql) {
    jobs = ReadJobs(sql, where, params);
    return absl::OkStatus();
  }));
  return jobs;
}

absl::StatusOr<Job> JobQueue::Get(const std::string& id) {
  absl::StatusOr<Job> job = absl::NotFoundError("");
  L4D2_RETURN_IF_ERROR(db_.WithSession([&](soci::session& sql) {
    job = ReadJob(sql, id);
    return absl::OkStatus();
  }));
  return job;
}

absl::StatusOr<absl::flat_hash_set<std::string>> JobQueue::BusyLocks(const std::string& prefix,
                                                                     absl::Time ended_since) {
  absl::flat_hash_set<std::string> locks;
  L4D2_RETURN_IF_ERROR(db_.WithSession([&](soci::session& sql) -> absl::Status {
    std::string lock;
    const std::string pattern = prefix + "%";
    // Ends far in the future match nothing; each half reads its own index.
    long long since = ended_since == absl::InfiniteFuture() ? std::numeric_limits<long long>::max()
                                                            : absl::ToUnixMillis(ended_since);
    soci::statement statement =
        (sql.prepare << "SELECT lock_key FROM jobs WHERE state IN ('queued', 'running')"
                        " AND lock_key LIKE :p UNION SELECT lock_key FROM jobs WHERE"
                        " finished_at_ms > :since AND lock_key LIKE :p2",
         soci::use(pattern), soci::use(since), soci::use(pattern), soci::into(lock));
    statement.execute();
    while (statement.fetch()) locks.insert(lock);
    return absl::OkStatus();
  }));
  return locks;
}

absl::StatusOr<int64_t> JobQueue::AppendEvent(const std::string& id, const std::string& kind,
                                              const std::string& data) {
  L4D2_RETURN_IF_ERROR(Write({{.job_id = id, .kind = kind, .data = data}}, {}).status());
  long long seq = 0;
  L4D2_RETURN_IF_ERROR(db_.WithSession([&](soci::session& sql) -> absl::Status {
    sql << "SELECT MAX(seq) FROM job_events WHERE job_id = :id", soci::use(id), soci::into(seq);
    return absl::OkStatus();
  }));
  return seq;
}

absl::StatusOr<std::vector<JobEvent>> JobQueue::Events(const std::string& id, int64_t after_seq,
                                                       int limit) {
  std::vector<JobEvent> events;
  if (limit < 1) return events;
  L4D2_RETURN_IF_ERROR(db_.WithSession([&](soci::session& sql) {
    std::vector<long long> seqs(limit), ats(limit);
    std::vector<std::string> kinds(limit), datas(limit);
    long long after = after_seq;
    sql << "SELECT seq, at_ms, kind, data FROM job_events WHERE job_id = :id AND seq > :after"
           " ORDER BY seq LIMIT :limit",
        soci::use(id), soci::use(after), soci::use(limit), soci::into(seqs), soci::into(ats),
        soci::into(kinds), soci::into(datas);
    for (size_t i = 0; i < seqs.size(); ++i) {
      events.push_back({.seq = seqs[i],
                        .at = absl::FromUnixMillis(ats[i]),
                        .kind = std::move(kinds[i]),
                        .data = std::move(datas[i])});
    }
    return absl::OkStatus();
  }));
  return events;
}

}  // namespace l4d2::controller
