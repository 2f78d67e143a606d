// The job queue's contract on SQLite and PostgreSQL (tests/controller/store/backend_test.h).

#include "controller/store/job_queue.h"

#include <map>
#include <set>
#include <thread>

#include "controller/store/fleet_counts.h"
#include "controller/store/migrations.h"
#include "gmock/gmock.h"
#include "tests/controller/store/backend_test.h"

namespace l4d2::controller {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

class JobQueueTest : public BackendTest {
 protected:
  void SetUp() override {
    BackendTest::SetUp();
    if (IsSkipped()) return;
    ASSERT_TRUE(ApplyMigrations(*db_, ControllerMigrations(), clock_).ok());
    queue_ = std::make_unique<JobQueue>(*db_, clock_);
  }

  std::string Enqueue(const std::string& kind, const std::string& lock = "", int attempts = 3) {
    absl::StatusOr<std::string> id = queue_->Enqueue({.kind = kind,
                                                      .lock_key = lock,
                                                      .params = "{}",
                                                      .created_by = "u1",
                                                      .max_attempts = attempts});
    EXPECT_TRUE(id.ok()) << id.status();
    return id.value_or("");
  }

  std::vector<std::string> Kinds(const std::vector<Job>& jobs) {
    std::vector<std::string> kinds;
    for (const Job& job : jobs) kinds.push_back(job.kind);
    return kinds;
  }

  std::unique_ptr<JobQueue> queue_;
};

TEST_P(JobQueueTest, ClaimsOldestFirstWithALeaseAndCompletes) {
  const std::string first = Enqueue("server.start");
  clock_.Advance(absl::Milliseconds(1));
  Enqueue("server.stop");
  absl::StatusOr<std::vector<Job>> claimed = queue_->Claim("w1", 1, absl::Seconds(30));
  ASSERT_TRUE(claimed.ok()) << claimed.status();
  ASSERT_THAT(Kinds(*claimed), ElementsAre("server.start"));
  const Job& job = (*claimed)[0];
  EXPECT_EQ(job.id, first);
  EXPECT_EQ(job.state, JobState::kRunning);
  EXPECT_EQ(job.attempt, 1);
  EXPECT_EQ(job.lease_owner, "w1");
  EXPECT_EQ(job.lease_expires,
            absl::FromUnixMillis(absl::ToUnixMillis(clock_.Now())) + absl::Seconds(30));
  ASSERT_TRUE(queue_->Complete(first, "w1", R"({"pid": 7})").ok());
  absl::StatusOr<Job> done = queue_->Get(first);
  ASSERT_TRUE(done.ok());
  EXPECT_EQ(done->state, JobState::kSucceeded);
  EXPECT_EQ(done->result, R"({"pid": 7})");
  // Only its holder ends a job, and only once.
  EXPECT_EQ(queue_->Complete(first, "w1", "").code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(Kinds(*queue_->Claim("w2", 10, absl::Seconds(30))), ElementsAre("server.stop"));
  EXPECT_TRUE(queue_->Claim("w3", 10, absl::Seconds(30))->empty());
  EXPECT_EQ(queue_->Get("nope").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(queue_->Enqueue({.kind = ""}).status().code(), absl::StatusCode::kInvalidArgument);
}

// /metrics shows jobs by kind and state from counts kept as jobs change (migration 19), not by
// counting a year of jobs: after every kind of change, folded or not, they are the true counts.
TEST_P(JobQueueTest, JobCountsFollowEveryStateChange) {
  auto truth = [&] {
    std::map<std::pair<std::string, std::string>, int64_t> counts;
    EXPECT_TRUE(db_->WithSession([&](soci::session& sql) {
                     std::string kind, state;
                     long long n = 0;
                     soci::statement select =
                         (sql.prepare << "SELECT kind, state, COUNT(*) FROM jobs GROUP BY kind,"
                                         " state",
                          soci::into(kind), soci::into(state), soci::into(n));
                     select.execute();
                     while (select.fetch()) counts[{kind, state}] = n;
                     return absl::OkStatus();
                   })
                    .ok());
    return counts;
  };
  auto check = [&](const char* step) {
    SCOPED_TRACE(step);
    absl::StatusOr<FleetCounts> unfolded = CountFleet(*db_);
    ASSERT_TRUE(unfolded.ok()) << unfolded.status();
    EXPECT_EQ(unfolded->jobs, truth());
    ASSERT_TRUE(FoldJobCounts(*db_).ok());
    EXPECT_EQ(Count("job_count_changes"), 0);
    absl::StatusOr<FleetCounts> folded = CountFleet(*db_);
    ASSERT_TRUE(folded.ok()) << folded.status();
    EXPECT_EQ(folded->jobs, truth());
  };
  const std::string done = Enqueue("server.start", "server:s1");
  const std::string failing = Enqueue("host.install", "install:h1", /*attempts=*/1);
  const std::string lost = Enqueue("server.stop", "server:s2", /*attempts=*/2);
  const std::string cancelled = Enqueue("server.stop", "server:s3");
  ASSERT_TRUE(db_->Transact([&](soci::session& sql) -> absl::Status {
                   std::vector<NewJob> many(50, {.kind = "server.restart", .params = "{}"});
                   return queue_->Enqueue(sql, many).status();
                 })
                  .ok());
  check("enqueued, one by one and at once");
  ASSERT_EQ(queue_->Claim("w1", 3, absl::Seconds(10))->size(), 3u);
  check("claimed");
  ASSERT_TRUE(queue_->Complete(done, "w1", "").ok());
  ASSERT_TRUE(queue_->Fail(failing, "w1", absl::InternalError("disk full"), false).ok());
  ASSERT_TRUE(queue_->Cancel(cancelled).ok());
  check("ended");
  clock_.Advance(absl::Seconds(11));
  ASSERT_TRUE(queue_->Claim("w2", 1, absl::Seconds(10)).ok());  // the lost lease requeued
  check("requeued");
  ASSERT_TRUE(db_->WithSession([&](soci::session& sql) {
                   sql << "DELETE FROM jobs WHERE state IN ('succeeded', 'failed')";
                   return absl::OkStatus();
                 })
                  .ok());
  check("pruned");
  EXPECT_EQ(queue_->Get(lost)->attempt, 2);  // requeued, then claimed again
  EXPECT_EQ(Count("job_counts"), static_cast<int64_t>(truth().size()));  // no zero counts
}

TEST_P(JobQueueTest, OneRunningJobPerLock) {
  Enqueue("server.start", "server:s1");
  Enqueue("server.stop", "server:s1");
  Enqueue("server.start", "server:s2");
  absl::StatusOr<std::vector<Job>> claimed = queue_->Claim("w1", 10, absl::Seconds(30));
  ASSERT_TRUE(claimed.ok()) << claimed.status();
  ASSERT_EQ(claimed->size(), 2u);
  EXPECT_EQ((*claimed)[0].lock_key, "server:s1");
  EXPECT_EQ((*claimed)[1].lock_key, "server:s2");
  EXPECT_TRUE(queue_->Claim("w2", 10, absl::Seconds(30))->empty());  // s1's stop waits.
  ASSERT_TRUE(queue_->Complete((*claimed)[0].id, "w1", "").ok());
  EXPECT_THAT(Kinds(*queue_->Claim("w2", 10, absl::Seconds(30))), ElementsAre("server.stop"));
}

TEST_P(JobQueueTest, TransientFailuresRetryWithBackoffThenFail) {
  const std::string id = Enqueue("host.install", "install:h1", /*attempts=*/2);
  ASSERT_EQ(queue_->Claim("w1", 1, absl::Seconds(30))->size(), 1u);
  ASSERT_TRUE(queue_->Fail(id, "w1", absl::UnavailableError("agent unreachable"), true).ok());
  absl::StatusOr<Job> waiting = queue_->Get(id);
  EXPECT_EQ(waiting->state, JobState::kQueued);
  EXPECT_EQ(waiting->error.code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(queue_->Claim("w1", 1, absl::Seconds(30))->empty());  // Backing off.
  clock_.Advance(JobQueue::Backoff(1));
  ASSERT_EQ(queue_->Claim("w1", 1, absl::Seconds(30))->size(), 1u);
  ASSERT_TRUE(queue_->Fail(id, "w1", absl::UnavailableError("still unreachable"), true).ok());
  absl::StatusOr<Job> failed = queue_->Get(id);
  EXPECT_EQ(failed->state, JobState::kFailed);  // No attempts left.
  EXPECT_EQ(failed->attempt, 2);
  EXPECT_EQ(failed->error.message(), "still unreachable");
  // A permanent failure ends at once, with the agent's message.
  const std::string other = Enqueue("server.start");
  ASSERT_EQ(queue_->Claim("w1", 1, absl::Seconds(30))->size(), 1u);
  ASSERT_TRUE(
      queue_->Fail(other, "w1", absl::FailedPreconditionError("port 27015 is used"), false).ok());
  EXPECT_EQ(queue_->Get(other)->state, JobState::kFailed);
  EXPECT_EQ(JobQueue::Backoff(1), absl::Seconds(1));
  EXPECT_EQ(JobQueue::Backoff(3), absl::Seconds(4));
  EXPECT_EQ(JobQueue::Backoff(30), absl::Minutes(5));
}

TEST_P(JobQueueTest, ALostLeaseReturnsTheJobToTheQueue) {
  const std::string id = Enqueue("server.start", "server:s1", /*attempts=*/2);
  ASSERT_EQ(queue_->Claim("dead-worker", 1, absl::Seconds(10))->size(), 1u);
  clock_.Advance(absl::Seconds(5));
  EXPECT_FALSE(*queue_->Renew(id, "dead-worker", absl::Seconds(10)));
  clock_.Advance(absl::Seconds(11));
  // The worker is gone: the next claim takes the job over, and the old holder cannot end it.
  absl::StatusOr<std::vector<Job>> taken = queue_->Claim("w2", 1, absl::Seconds(10));
  ASSERT_EQ(taken->size(), 1u);
  EXPECT_EQ((*taken)[0].attempt, 2);
  EXPECT_EQ(queue_->Complete(id, "dead-worker", "").code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(queue_->Renew(id, "dead-worker", absl::Seconds(10)).status().code(),
            absl::StatusCode::kFailedPrecondition);
  // Lost again with no attempts left: failed, with the reason.
  clock_.Advance(absl::Seconds(11));
  EXPECT_TRUE(queue_->Claim("w3", 1, absl::Seconds(10))->empty());
  absl::StatusOr<Job> failed = queue_->Get(id);
  EXPECT_EQ(failed->state, JobState::kFailed);
  EXPECT_THAT(failed->error.message(), HasSubstr("lease expired"));
}

TEST_P(JobQueueTest, CancellationOfQueuedAndRunningJobs) {
  const std::string queued = Enqueue("server.start", "server:s1");
  const std::string running = Enqueue("server.start", "server:s2");
  clock_.Advance(absl::Milliseconds(1));
  ASSERT_TRUE(queue_->Cancel(queued).ok());
  EXPECT_EQ(queue_->Get(queued)->state, JobState::kCancelled);
  ASSERT_EQ(queue_->Claim("w1", 5, absl::Seconds(30))->size(), 1u);
  ASSERT_TRUE(queue_->Cancel(running).ok());
  EXPECT_TRUE(*queue_->Renew(running, "w1", absl::Seconds(30)));  // The worker is told.
  // A transient failure of a job asked to stop is not retried.
  ASSERT_TRUE(queue_->Fail(running, "w1", absl::CancelledError("cancelled by u1"), true).ok());
  EXPECT_EQ(queue_->Get(running)->state, JobState::kCancelled);
  EXPECT_EQ(queue_->Cancel(running).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(queue_->Cancel("nope").code(), absl::StatusCode::kNotFound);
}

TEST_P(JobQueueTest, EventsAppendInOrderAndReplayFromASequence) {
  const std::string id = Enqueue("host.install");
  for (int i = 1; i <= 5; ++i) {
    absl::StatusOr<int64_t> seq = queue_->AppendEvent(id, "progress", std::to_string(i * 20));
    ASSERT_TRUE(seq.ok()) << seq.status();
    EXPECT_EQ(*seq, i);
  }
  absl::StatusOr<std::vector<JobEvent>> after = queue_->Events(id, 2, 2);
  ASSERT_TRUE(after.ok()) << after.status();
  ASSERT_EQ(after->size(), 2u);
  EXPECT_EQ((*after)[0].seq, 3);
  EXPECT_EQ((*after)[0].data, "60");
  EXPECT_EQ((*after)[1].kind, "progress");
  EXPECT_TRUE(queue_->Events(id, 5, 10)->empty());
  EXPECT_FALSE(queue_->AppendEvent("nope", "log", "x").ok());  // Foreign key.
}

TEST_P(JobQueueTest, ABatchOfEventsAndEndingsIsNumberedPerJobAndWrittenAtOnce) {
  const std::string a = Enqueue("host.install");
  const std::string b = Enqueue("host.install");
  const std::string c = Enqueue("host.install");
  ASSERT_TRUE(queue_->AppendEvent(a, "log", "before").ok());
  absl::StatusOr<std::vector<Job>> claimed = queue_->Claim("w", 3, absl::Minutes(1));
  ASSERT_TRUE(claimed.ok() && claimed->size() == 3u);
  std::vector<NewJobEvent> events;
  for (int i = 0; i < 600; ++i) {  // More than one statement's worth of rows.
    events.push_back({.job_id = i % 3 == 0 ? a : b, .kind = "log", .data = std::to_string(i)});
  }
  absl::StatusOr<std::vector<absl::Status>> written =
      queue_->Write(events, {{.id = a, .owner = "w", .result = "{}"},
                             {.id = b, .owner = "other", .result = "{}"},
                             {.id = c,
                              .owner = "w",
                              .state = JobState::kQueued,
                              .error = absl::UnavailableError("agent away"),
                              .not_before = clock_.Now() + absl::Seconds(5)}});
  ASSERT_TRUE(written.ok()) << written.status();
  EXPECT_TRUE((*written)[0].ok());
  EXPECT_EQ((*written)[1].code(), absl::StatusCode::kFailedPrecondition);  // Not its holder.
  EXPECT_TRUE((*written)[2].ok());
  absl::StatusOr<std::vector<JobEvent>> of_a = queue_->Events(a, 0, 1000);
  ASSERT_TRUE(of_a.ok());
  ASSERT_EQ(of_a->size(), 201u);
  EXPECT_EQ((*of_a)[0].data, "before");
  for (size_t i = 0; i < of_a->size(); ++i) EXPECT_EQ((*of_a)[i].seq, static_cast<int64_t>(i) + 1);
  EXPECT_EQ((*of_a)[1].data, "0");
  EXPECT_EQ((*of_a)[200].data, "597");
  EXPECT_EQ(queue_->Events(b, 0, 1000)->size(), 400u);
  EXPECT_EQ(queue_->Get(a)->state, JobState::kSucceeded);
  EXPECT_EQ(queue_->Get(b)->state, JobState::kRunning);
  EXPECT_EQ(queue_->Get(c)->state, JobState::kQueued);  // A retry, due in 5 s.
  EXPECT_EQ(queue_->Get(c)->not_before, clock_.Now() + absl::Seconds(5));
}

TEST_P(JobQueueTest, ConcurrentWorkersNeverClaimAJobTwice) {
  constexpr int kJobs = 200;
  for (int i = 0; i < kJobs; ++i) Enqueue("server.restart", "server:s" + std::to_string(i % 50));
  absl::Mutex mutex;
  std::multiset<std::string> seen;
  std::vector<std::thread> workers;
  for (int w = 0; w < 4; ++w) {
    workers.emplace_back([&, w] {
      const std::string owner = "w" + std::to_string(w);
      for (int round = 0; round < 400; ++round) {
        absl::StatusOr<std::vector<Job>> jobs = queue_->Claim(owner, 8, absl::Seconds(60));
        ASSERT_TRUE(jobs.ok()) << jobs.status();
        if (jobs->empty()) {
          absl::MutexLock lock(&mutex);
          if (seen.size() == kJobs) return;
          continue;
        }
        for (const Job& job : *jobs) {
          {
            absl::MutexLock lock(&mutex);
            seen.insert(job.id);
          }
          ASSERT_TRUE(queue_->Complete(job.id, owner, "").ok());
        }
      }
    });
  }
  for (std::thread& worker : workers) worker.join();
  EXPECT_EQ(seen.size(), static_cast<size_t>(kJobs));
  EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()).size(), static_cast<size_t>(kJobs))
      << "a job was claimed twice";
}

L4D2_INSTANTIATE_BACKEND_TEST(JobQueueTest);

}  // namespace
}  // namespace l4d2::controller
