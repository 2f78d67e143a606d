#include "agent/service/log_stream.h"

#include <signal.h>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "agent/service/grpc_status.h"

namespace l4d2::agent {
namespace {

constexpr size_t kLinesPerBatch = 256;
constexpr size_t kQueuedBatches = 64;
constexpr absl::Duration kFlushAfter = absl::Milliseconds(20);

}  // namespace

struct LogStream::Shared {
  absl::Mutex mutex;
  LogStream* stream ABSL_GUARDED_BY(mutex) = nullptr;  // Null once the reactor is done.
  std::deque<v1::LogBatch> queue ABSL_GUARDED_BY(mutex);
  v1::LogBatch in_flight ABSL_GUARDED_BY(mutex);
  bool writing ABSL_GUARDED_BY(mutex) = false;
  bool finished ABSL_GUARDED_BY(mutex) = false;
  bool cancelled ABSL_GUARDED_BY(mutex) = false;
  bool reader_done ABSL_GUARDED_BY(mutex) = false;
  absl::Status reader_status ABSL_GUARDED_BY(mutex);
  RunningProcess* process ABSL_GUARDED_BY(mutex) = nullptr;

  void PumpLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex) {
    if (stream == nullptr || writing || finished) return;
    if (cancelled) {
      finished = true;
      stream->Finish(grpc::Status(grpc::StatusCode::CANCELLED, "cancelled"));
      return;
    }
    if (!queue.empty()) {
      in_flight = std::move(queue.front());
      queue.pop_front();
      writing = true;
      stream->StartWrite(&in_flight);
      return;
    }
    if (reader_done) {
      finished = true;
      stream->Finish(ToGrpcStatus(reader_status));
    }
  }

  void CancelLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex) {
    cancelled = true;
    if (process != nullptr) process->Signal(SIGTERM);
  }
};

LogStream::LogStream(ProcessRunner& runner, TaskRunner& tasks, const LogStreamOptions& options,
                     std::vector<std::string> journalctl_args)
    : shared_(std::make_shared<Shared>()) {
  {
    absl::MutexLock lock(&shared_->mutex);
    shared_->stream = this;
  }
  ProcessOptions process{.argv = {options.journalctl}, .env = options.env};
  process.argv.insert(process.argv.end(), journalctl_args.begin(), journalctl_args.end());
  tasks.Run([shared = shared_, &runner, process] { Read(shared, runner, process); });
}

void LogStream::Read(std::shared_ptr<Shared> shared, ProcessRunner& runner,
                     ProcessOptions process_options) {
  absl::StatusOr<std::unique_ptr<RunningProcess>> process = runner.Start(process_options);
  auto finish = [&](absl::Status status) {
    absl::MutexLock lock(&shared->mutex);
    shared->process = nullptr;
    shared->reader_done = true;
    shared->reader_status = std::move(status);
    shared->PumpLocked();
  };
  if (!process.ok())
    return finish(absl::UnavailableError(
        absl::StrCat("cannot read the journal: ", process.status().message())));
  {
    absl::MutexLock lock(&shared->mutex);
    if (shared->cancelled) return finish(absl::CancelledError("cancelled"));
    shared->process = process->get();
  }
  v1::LogBatch batch;
  std::string errors;
  auto push = [&]() -> bool {
    absl::MutexLock lock(&shared->mutex);
    // Backpressure: wait for room, unless the stream is gone.
    auto room = [&shared]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(shared->mutex) {
      return shared->queue.size() < kQueuedBatches || shared->cancelled ||
             shared->stream == nullptr;
    };
    shared->mutex.Await(absl::Condition(&room));
    if (shared->cancelled || shared->stream == nullptr) return false;
    shared->queue.push_back(std::move(batch));
    batch.Clear();
    shared->PumpLocked();
    return true;
  };
  while (true) {
    absl::StatusOr<std::string> line = (*process)->ReadLine(absl::Now() + kFlushAfter);
    if (absl::IsDeadlineExceeded(line.status())) {
      if (batch.lines_size() > 0 && !push()) break;
      absl::MutexLock lock(&shared->mutex);
      if (shared->cancelled || shared->stream == nullptr) break;
      continue;
    }
    if (!line.ok()) break;  // End of output.
    absl::StatusOr<v1::LogLine> parsed = ParseJournalJsonLine(*line);
    if (!parsed.ok()) {
      if (errors.size() < 1000) absl::StrAppend(&errors, *line, " ");
      continue;
    }
    *batch.add_lines() = *std::move(parsed);
    if (batch.lines_size() >= static_cast<int>(kLinesPerBatch) && !push()) break;
  }
  (*process)->Signal(SIGTERM);
  absl::StatusOr<ExitStatus> exit = (*process)->Wait(absl::Now() + absl::Seconds(5));
  if (batch.lines_size() > 0) push();
  {
    absl::MutexLock lock(&shared->mutex);
    if (shared->cancelled) return finish(absl::CancelledError("cancelled"));
  }
  if (exit.ok() && !exit->success() && !errors.empty()) {
    return finish(absl::UnavailableError(absl::StrCat("journalctl: ", errors)));
  }
  finish(absl::OkStatus());
}

void LogStream::OnWriteDone(bool ok) {
  absl::MutexLock lock(&shared_->mutex);
  shared_->writing = false;
  if (!ok) shared_->CancelLocked();
  shared_->PumpLocked();
}

void LogStream::OnCancel() {
  absl::MutexLock lock(&shared_->mutex);
  shared_->CancelLocked();
  shared_->PumpLocked();
}

void LogStream::OnDone() {
  {
    absl::MutexLock lock(&shared_->mutex);
    shared_->stream = nullptr;
    shared_->CancelLocked();
  }
  delete this;
}

}  // namespace l4d2::agent
