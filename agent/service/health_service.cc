#include "agent/service/health_service.h"

#include <optional>

namespace l4d2::agent {

using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;

// One Watch stream. At most one write is in flight; a status that changes while a write is in
// flight is sent when that write completes (only the newest one: intermediate states of a
// health status carry no meaning). Finish is called exactly once, and the reactor deletes
// itself in OnDone after gRPC is finished with it.
class HealthService::Watcher final : public grpc::ServerWriteReactor<HealthCheckResponse> {
 public:
  Watcher(HealthService* service, std::string name) : service_(service), name_(std::move(name)) {}

  // Called with the service's mutex held.
  void Notify(ServingStatus status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(service_->mutex_) {
    absl::MutexLock lock(&mutex_);
    pending_ = status;
    MaybeWriteLocked();
  }

  // Called with the service's mutex held: ends the stream.
  void End() ABSL_EXCLUSIVE_LOCKS_REQUIRED(service_->mutex_) {
    absl::MutexLock lock(&mutex_);
    ending_ = true;
    MaybeWriteLocked();
  }

  const std::string& name() const { return name_; }

  void OnWriteDone(bool ok) override {
    absl::MutexLock lock(&mutex_);
    writing_ = false;
    if (!ok) cancelled_ = true;  // The client went away.
    MaybeWriteLocked();
  }

  void OnCancel() override {
    absl::MutexLock lock(&mutex_);
    cancelled_ = true;
    MaybeWriteLocked();
  }

  void OnDone() override {
    service_->RemoveWatcher(this);
    delete this;
  }

 private:
  void MaybeWriteLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
    if (writing_ || finished_) return;
    // A status not yet sent goes out first, also when the server is ending the stream (its
    // last word is NOT_SERVING); only a client that is gone gets nothing more.
    const bool unsent = pending_.has_value() && (!sent_.has_value() || *sent_ != *pending_);
    if (unsent && !cancelled_) {
      response_.set_status(*pending_);
      sent_ = pending_;
      writing_ = true;
      StartWrite(&response_);
      return;
    }
    if (ending_ || cancelled_) {
      finished_ = true;
      Finish(grpc::Status::OK);
    }
  }

  HealthService* const service_;
  const std::string name_;
  absl::Mutex mutex_;
  std::optional<ServingStatus> pending_ ABSL_GUARDED_BY(mutex_);
  std::optional<ServingStatus> sent_ ABSL_GUARDED_BY(mutex_);
  bool writing_ ABSL_GUARDED_BY(mutex_) = false;
  bool ending_ ABSL_GUARDED_BY(mutex_) = false;     // The server ends the stream.
  bool cancelled_ ABSL_GUARDED_BY(mutex_) = false;  // The client is gone.
  bool finished_ ABSL_GUARDED_BY(mutex_) = false;
  HealthCheckResponse response_ ABSL_GUARDED_BY(mutex_);
};

HealthService::~HealthService() {
  Shutdown();
  // Reactors call back into this object until OnDone; wait for the last one.
  absl::MutexLock lock(&mutex_);
  mutex_.Await(absl::Condition(
      +[](std::set<Watcher*>* watchers) { return watchers->empty(); }, &watchers_));
}

void HealthService::SetStatus(const std::string& service, ServingStatus status) {
  absl::MutexLock lock(&mutex_);
  if (shut_down_) return;
  statuses_[service] = status;
  for (Watcher* watcher : watchers_) {
    if (watcher->name() == service) watcher->Notify(status);
  }
}

void HealthService::Shutdown() {
  absl::MutexLock lock(&mutex_);
  if (shut_down_) return;
  shut_down_ = true;
  for (auto& [name, status] : statuses_) status = HealthCheckResponse::NOT_SERVING;
  for (Watcher* watcher : watchers_) {
    watcher->Notify(HealthCheckResponse::NOT_SERVING);
    watcher->End();
  }
}

HealthService::ServingStatus HealthService::StatusLocked(const std::string& service) const {
  auto it = statuses_.find(service);
  return it == statuses_.end() ? HealthCheckResponse::SERVICE_UNKNOWN : it->second;
}

void HealthService::RemoveWatcher(Watcher* watcher) {
  absl::MutexLock lock(&mutex_);
  watchers_.erase(watcher);
}

grpc::ServerUnaryReactor* HealthService::Check(grpc::CallbackServerContext* context,
                                               const HealthCheckRequest* request,
                                               HealthCheckResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  absl::MutexLock lock(&mutex_);
  auto it = statuses_.find(request->service());
  if (it == statuses_.end()) {
    reactor->Finish(
        grpc::Status(grpc::StatusCode::NOT_FOUND, "unknown service '" + request->service() + "'"));
  } else {
    response->set_status(it->second);
    reactor->Finish(grpc::Status::OK);
  }
  return reactor;
}

grpc::ServerWriteReactor<HealthCheckResponse>* HealthService::Watch(
    grpc::CallbackServerContext* context, const HealthCheckRequest* request) {
  auto* watcher = new Watcher(this, request->service());
  absl::MutexLock lock(&mutex_);
  watchers_.insert(watcher);
  watcher->Notify(StatusLocked(request->service()));
  if (shut_down_) watcher->End();
  return watcher;
}

}  // namespace l4d2::agent
