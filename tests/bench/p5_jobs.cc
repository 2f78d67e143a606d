// P5 (docs/benchmarks.md): jobs per second end to end, beside the storage layer alone.
//
//   l4d2_bench_p5 DATABASE_URL JOBS WORKERS
//
// Ours: JOBS host.install jobs over 100 simulated agents (hosts whose address is one in-process
// gRPC server answering Install at once, as a fast agent would), created, claimed, sent to the
// agent over gRPC, their progress event and result persisted, by a Scheduler with WORKERS
// workers. Peer (ceiling): the same queue work without gRPC, batched as the scheduler batches
// it: claims of up to 8 jobs, then their events and ends in one write, from 4 threads (its best
// on 2 cores). Each run on a fresh schema in DATABASE_URL (sqlite3:FILE or
// postgresql:CONNINFO of an empty database).
#include <atomic>
#include <chrono>
#include <iostream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/clock.h"
#include "common/lock_checks.h"
#include "common/logging.h"
#include "controller/jobs/scheduler.h"
#include "controller/store/migrations.h"
#include "grpcpp/grpcpp.h"
#include "l4d2/agent/v1/agent_service.grpc.pb.h"
#include "soci/soci.h"

namespace {

namespace v1 = l4d2::agent::v1;
constexpr int kStorageThreads = 4;
using namespace l4d2::controller;  // NOLINT: a benchmark's main

// An agent that installs instantly: one progress event, then the result.
class InstantAgent final : public v1::AgentService::CallbackService {
  grpc::ServerWriteReactor<v1::InstallEvent>* Install(grpc::CallbackServerContext*,
                                                      const v1::InstallRequest*) override {
    class Reactor final : public grpc::ServerWriteReactor<v1::InstallEvent> {
     public:
      Reactor() {
        events_[0].mutable_progress()->set_phase("downloading");
        events_[0].mutable_progress()->set_percent(100);
        events_[1].mutable_result()->set_build_id("9000001");
        StartWrite(&events_[0]);
      }
      void OnWriteDone(bool ok) override {
        if (!ok || ++next_ == 2) {
          Finish(grpc::Status::OK);
          return;
        }
        StartWrite(&events_[next_]);
      }
      void OnDone() override { delete this; }

     private:
      v1::InstallEvent events_[2];
      int next_ = 0;
    };
    return new Reactor();
  }
};

void Reset(Database& db) {
  (void)db.WithSession([](soci::session& sql) {
    for (const char* table : {"job_events", "jobs", "hosts"}) sql << "DELETE FROM " << table;
    return absl::OkStatus();
  });
}

int64_t Succeeded(Database& db) {
  long long n = 0;
  (void)db.WithSession([&](soci::session& sql) {
    sql << "SELECT COUNT(*) FROM jobs WHERE state = 'succeeded'", soci::into(n);
    return absl::OkStatus();
  });
  return n;
}

}  // namespace

int main(int argc, char** argv) {
  l4d2::DisableLockOrderChecks();  // As the binaries do (and for the peer alike).
  if (argc != 4) {
    std::cerr << "usage: l4d2_bench_p5 DATABASE_URL JOBS WORKERS\n";
    return 2;
  }
  l4d2::SetMinLogSeverity(l4d2::LogSeverity::kWarning);  // A line per job would be measured.
  const std::string url = argv[1];
  const int jobs = std::atoi(argv[2]);
  const int workers = std::atoi(argv[3]);
  auto db = Database::Open({.url = url, .pool_size = static_cast<size_t>(workers) + 2});
  if (!db.ok() || !ApplyMigrations(**db, ControllerMigrations(), l4d2::Clock::Real()).ok()) {
    std::cerr << "database: " << db.status() << "\n";
    return 1;
  }
  FleetStores stores(**db, l4d2::Clock::Real());
  JobQueue& queue = stores.jobs;
  HostStore& hosts = stores.hosts;

  // The ceiling: the queue alone.
  Reset(**db);
  for (int i = 0; i < jobs; ++i) {
    (void)queue.Enqueue({.kind = "noop",
                         .lock_key = absl::StrCat("k", i % 100),
                         .params = "{}",
                         .created_by = "bench"});
  }
  auto start = std::chrono::steady_clock::now();
  std::atomic<int> done{0};
  {
    std::vector<std::thread> threads;
    // Four threads: more only contend for the one writer (SQLite) or the same rows (PostgreSQL)
    // and lower the ceiling.
    for (int w = 0; w < kStorageThreads; ++w) {
      threads.emplace_back([&, w] {
        const std::string owner = absl::StrCat("w", w);
        while (done.load() < jobs) {
          // As the scheduler does: claims for several at once, their events and ends in one
          // write.
          auto claimed = queue.Claim(owner, 8, absl::Seconds(60));
          if (!claimed.ok() || claimed->empty()) continue;
          std::vector<NewJobEvent> events;
          std::vector<JobEnding> endings;
          for (const Job& job : *claimed) {
            events.push_back({.job_id = job.id, .kind = "progress", .data = "{}"});
            endings.push_back({.id = job.id, .owner = owner, .result = "{}"});
          }
          auto written = queue.Write(events, endings);
          if (written.ok()) done.fetch_add(static_cast<int>(endings.size()));
        }
      });
    }
    for (auto& thread : threads) thread.join();
  }
  const double storage_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  // Ours: end to end over gRPC.
  Reset(**db);
  InstantAgent agent;
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&agent);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  std::vector<std::string> host_ids;
  for (int h = 0; h < 100; ++h) {
    auto host =
        hosts.Create({.name = absl::StrCat("sim", h), .address = absl::StrCat("127.0.0.1:", port)},
                     absl::Hours(1));
    host_ids.push_back(host->first.id);
  }
  for (int i = 0; i < jobs; ++i) (void)queue.Enqueue(HostInstallJob(host_ids[i % 100], "bench"));
  PlaintextAgentConnector agents;
  Scheduler scheduler(stores, agents,
                      {.owner = "bench",
                       .workers = workers,
                       .lease = absl::Seconds(60),
                       .poll = absl::Milliseconds(5)});
  start = std::chrono::steady_clock::now();
  scheduler.Start();
  while (Succeeded(**db) < jobs) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  const double ours_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  scheduler.Stop();
  server->Shutdown();

  std::cout << "P5 jobs/s on " << (*db)->backend_name() << " ("
            << std::thread::hardware_concurrency() << " cores, " << jobs << " jobs, " << workers
            << " workers; storage alone: " << kStorageThreads << " threads; 100 simulated agents)\n"
            << "  ours, end to end over gRPC: " << static_cast<int>(jobs / ours_seconds)
            << " jobs/s\n"
            << "  storage layer alone (ceiling): " << static_cast<int>(jobs / storage_seconds)
            << " jobs/s\n"
            << "  ratio: " << (storage_seconds / ours_seconds) << "\n";
  return 0;
}
