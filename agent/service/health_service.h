#pragma once

// The standard gRPC health service (grpc.health.v1.Health), generated from Debian's grpc-proto
// so that reflection clients can resolve its schema (gRPC 1.51's built-in one cannot be).
//
// Services are "" (the whole server) and the full names of the served services. Check answers
// NOT_FOUND for unknown services, as the protocol requires. Watch streams the current status
// and every change; it ends when the client cancels or at Shutdown().
//
// Thread-safe. Shutdown() must be called before the gRPC server shuts down, so that open Watch
// streams finish instead of holding the server's shutdown until its deadline.

#include <map>
#include <set>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "grpc/health/v1/health.grpc.pb.h"

namespace l4d2::agent {

class HealthService final : public grpc::health::v1::Health::CallbackService {
 public:
  using ServingStatus = grpc::health::v1::HealthCheckResponse::ServingStatus;

  HealthService() = default;
  HealthService(const HealthService&) = delete;
  HealthService& operator=(const HealthService&) = delete;
  ~HealthService() override;

  void SetStatus(const std::string& service, ServingStatus status);
  // Sets every service NOT_SERVING and ends every Watch stream.
  void Shutdown();

  grpc::ServerUnaryReactor* Check(grpc::CallbackServerContext* context,
                                  const grpc::health::v1::HealthCheckRequest* request,
                                  grpc::health::v1::HealthCheckResponse* response) override;
  grpc::ServerWriteReactor<grpc::health::v1::HealthCheckResponse>* Watch(
      grpc::CallbackServerContext* context,
      const grpc::health::v1::HealthCheckRequest* request) override;

 private:
  class Watcher;
  friend class Watcher;

  // Unknown services watch as SERVICE_UNKNOWN until they are set.
  ServingStatus StatusLocked(const std::string& service) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  void RemoveWatcher(Watcher* watcher);

  absl::Mutex mutex_;
  std::map<std::string, ServingStatus> statuses_ ABSL_GUARDED_BY(mutex_);
  std::set<Watcher*> watchers_ ABSL_GUARDED_BY(mutex_);
  bool shut_down_ ABSL_GUARDED_BY(mutex_) = false;
  absl::CondVar watchers_gone_;
};

}  // namespace l4d2::agent
