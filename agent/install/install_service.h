#pragma once

// The install and update operations of a host: claims the operation (one install per host at
// a time, idempotent by operation_id), runs the Installer on a task thread, and publishes each
// InstallEvent (serialized) on the operation's run, the last one carrying the result.
//
// Thread-safe.

#include <functional>
#include <memory>
#include <set>
#include <string>

#include "absl/status/statusor.h"
#include "agent/install/installer.h"
#include "agent/operations/operation_registry.h"
#include "agent/operations/task_runner.h"

namespace l4d2::agent {

class InstallService {
 public:
  // The installation directory names instances pin (never removed by an install).
  using PinnedBuilds = std::function<std::set<std::string>()>;

  // All references must outlive the service; `tasks` should be destroyed before the others.
  InstallService(Installer& installer, OperationRegistry& registry, TaskRunner& tasks,
                 PinnedBuilds pinned);

  // Starts the install, or returns the running or recorded one with the same operation_id.
  // The run's events are serialized v1::InstallEvent messages. Errors of Claim (ABORTED while
  // another install runs, INVALID_ARGUMENT).
  absl::StatusOr<std::shared_ptr<OperationRun>> Install(const v1::InstallRequest& request);

  // Runs `done` on a task thread with the result of the update check.
  void CheckForUpdate(const std::string& branch,
                      std::function<void(absl::StatusOr<v1::CheckForUpdateResponse>)> done);

 private:
  Installer& installer_;
  OperationRegistry& registry_;
  TaskRunner& tasks_;
  PinnedBuilds pinned_;
};

}  // namespace l4d2::agent
