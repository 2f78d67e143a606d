#pragma once

// Streams an operation's run to a gRPC client: replays every event from the start, follows new
// ones, and finishes with the run's status. Used for Install and SyncOverlay, including a
// client re-attaching with the same operation_id after a disconnect.
//
// One write is in flight at a time; Finish is called exactly once (also after cancellation).
// Notifications from the publishing thread and gRPC's own reactions are serialized by one
// mutex held in state shared with the pending notification, so a notification that arrives
// after OnDone does nothing.

#include <memory>

#include "absl/synchronization/mutex.h"
#include "agent/operations/operation_registry.h"
#include "grpcpp/support/server_callback.h"
#include "rpc/grpc_status.h"

namespace l4d2::agent {

template <typename Event>
class OperationStream final : public grpc::ServerWriteReactor<Event> {
 public:
  explicit OperationStream(std::shared_ptr<OperationRun> run)
      : run_(std::move(run)), shared_(std::make_shared<Shared>()) {
    shared_->stream = this;
    absl::MutexLock lock(&shared_->mutex);
    NextLocked();
  }

  void OnWriteDone(bool ok) override {
    absl::MutexLock lock(&shared_->mutex);
    writing_ = false;
    if (!ok) {
      FinishLocked(grpc::Status(grpc::StatusCode::CANCELLED, "stream write failed"));
      return;
    }
    NextLocked();
  }

  void OnCancel() override {
    absl::MutexLock lock(&shared_->mutex);
    if (!writing_) FinishLocked(grpc::Status(grpc::StatusCode::CANCELLED, "cancelled"));
    cancelled_ = true;
  }

  void OnDone() override {
    {
      absl::MutexLock lock(&shared_->mutex);
      shared_->stream = nullptr;
    }
    delete this;
  }

 private:
  struct Shared {
    absl::Mutex mutex;
    OperationStream* stream = nullptr;  // Null once the reactor is gone.
  };

  void NextLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(shared_->mutex) {
    if (writing_ || finished_) return;
    if (cancelled_) {
      FinishLocked(grpc::Status(grpc::StatusCode::CANCELLED, "cancelled"));
      return;
    }
    // Until something can be written or the run is waited on.
    while (!Step()) {
    }
  }

  // One attempt: write the next event, finish, or register for news. False when news arrived
  // between the read and the registration (read again).
  bool Step() ABSL_EXCLUSIVE_LOCKS_REQUIRED(shared_->mutex) {
    OperationRun::Read read = run_->ReadFrom(index_);
    if (!read.events.empty()) {
      ++index_;
      if (!event_.ParseFromString(read.events.front())) {
        FinishLocked(grpc::Status(grpc::StatusCode::INTERNAL, "corrupt operation event"));
        return true;
      }
      writing_ = true;
      this->StartWrite(&event_);
      return true;
    }
    if (read.done) {
      FinishLocked(ToGrpcStatus(read.status));
      return true;
    }
    std::weak_ptr<Shared> weak = shared_;
    return run_->NotifyAfter(index_, [weak] {
      std::shared_ptr<Shared> shared = weak.lock();
      if (shared == nullptr) return;
      absl::MutexLock lock(&shared->mutex);
      if (shared->stream != nullptr) shared->stream->NextLocked();
    });
  }

  void FinishLocked(const grpc::Status& status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(shared_->mutex) {
    if (finished_) return;
    finished_ = true;
    this->Finish(status);
  }

  std::shared_ptr<OperationRun> run_;
  std::shared_ptr<Shared> shared_;
  size_t index_ = 0;
  bool writing_ = false;
  bool finished_ = false;
  bool cancelled_ = false;
  Event event_;
};

// A stream that only finishes with `status` (a request refused before any work).
template <typename Event>
grpc::ServerWriteReactor<Event>* FailedStream(const absl::Status& status) {
  v1::Operation none;
  return new OperationStream<Event>(OperationRun::Ended(none, {}, status));
}

}  // namespace l4d2::agent
