#pragma once

// Runs long work (steamcmd, systemd jobs, RCON) off gRPC's callback threads, one thread per
// task. Every task is bounded by its own timeouts. Owners call JoinAll() before destroying
// anything the tasks use (the destructor joins too, as a last resort).
//
// Thread-safe.

#include <functional>
#include <list>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace l4d2::agent {

class TaskRunner {
 public:
  TaskRunner() = default;
  TaskRunner(const TaskRunner&) = delete;
  TaskRunner& operator=(const TaskRunner&) = delete;
  ~TaskRunner();

  void Run(std::function<void()> task);
  // Waits for every task started so far.
  void JoinAll();
  // Tasks started and not yet finished.
  int Running() const;

 private:
  struct Task {
    std::thread thread;
    bool done = false;
  };
  void ReapLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);

  mutable absl::Mutex mutex_;
  std::list<Task> tasks_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace l4d2::agent
