#include "agent/service/log_stream.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "rpc/grpc_status.h"

namespace l4d2::agent {
namespace {

// Entries read at a time; a console forwarder's entry may hold many lines.
constexpr size_t kEntriesPerRead = 256;
// A batch (one gRPC message) ends at this many lines or bytes of text, whichever comes first.
constexpr size_t kLinesPerBatch = 1024;
constexpr size_t kBytesPerBatch = 1 << 20;
constexpr size_t kQueuedBatches = 64;
constexpr absl::Duration kPollInterval = absl::Milliseconds(10);

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

  void CancelLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex) { cancelled = true; }
};

LogStream::LogStream(Journal& journal, TaskRunner& tasks, JournalQuery query)
    : shared_(std::make_shared<Shared>()) {
  {
    absl::MutexLock lock(&shared_->mutex);
    shared_->stream = this;
  }
  tasks.Run(
      [shared = shared_, &journal, query = std::move(query)] { Read(shared, journal, query); });
}

void LogStream::Read(std::shared_ptr<Shared> shared, Journal& journal, const JournalQuery& query) {
  auto finish = [&](absl::Status status) {
    absl::MutexLock lock(&shared->mutex);
    shared->reader_done = true;
    shared->reader_status =
        shared->cancelled ? absl::CancelledError("cancelled") : std::move(status);
    shared->PumpLocked();
  };
  auto gone = [&shared]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(shared->mutex) {
    return shared->cancelled || shared->stream == nullptr;
  };
  // Backpressure: waits for room in the queue, unless the stream is gone.
  auto push = [&](v1::LogBatch batch) -> bool {
    absl::MutexLock lock(&shared->mutex);
    auto room = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(shared->mutex) {
      return shared->queue.size() < kQueuedBatches || gone();
    };
    shared->mutex.Await(absl::Condition(&room));
    if (gone()) return false;
    shared->queue.push_back(std::move(batch));
    shared->PumpLocked();
    return true;
  };
  absl::StatusOr<std::unique_ptr<JournalReader>> reader = journal.Open(query);
  if (!reader.ok()) return finish(reader.status());
  while (true) {
    absl::StatusOr<std::vector<JournalEntry>> entries = (*reader)->Next(kEntriesPerRead);
    if (!entries.ok()) return finish(entries.status());
    if (!entries->empty()) {
      v1::LogBatch batch;
      size_t bytes = 0;
      bool pushed = true;
      for (const JournalEntry& entry : *entries) {
        for (v1::LogLine& line : ToLogLines(entry)) {
          bytes += line.text().size();
          *batch.add_lines() = std::move(line);
          if (static_cast<size_t>(batch.lines_size()) >= kLinesPerBatch ||
              bytes >= kBytesPerBatch) {
            pushed = push(std::move(batch));
            batch = v1::LogBatch();
            bytes = 0;
            if (!pushed) break;
          }
        }
        if (!pushed) break;
      }
      if (pushed && batch.lines_size() > 0) pushed = push(std::move(batch));
      if (!pushed) break;
      if (entries->size() == kEntriesPerRead) continue;  // More may be there already.
    }
    if (!query.follow) break;
    absl::MutexLock lock(&shared->mutex);
    if (shared->mutex.AwaitWithTimeout(absl::Condition(&gone), kPollInterval)) break;
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
