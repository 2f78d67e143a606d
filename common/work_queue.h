#pragma once

// A fixed pool of threads running submitted tasks in order of submission, with a bounded
// backlog: Submit refuses work instead of queueing without limit, so an overloaded server
// answers "busy" rather than growing. Used where a library thread must not block (Pistache
// handlers hand their work here). Stop() runs what is queued, then joins; the destructor
// stops. Thread-safe.

#include <cstddef>
#include <deque>
#include <functional>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"

namespace l4d2 {

class WorkQueue {
 public:
  WorkQueue(int threads, size_t max_backlog);
  WorkQueue(const WorkQueue&) = delete;
  WorkQueue& operator=(const WorkQueue&) = delete;
  ~WorkQueue();

  // False, and `task` dropped, when the backlog is full or the queue has stopped.
  bool Submit(std::function<void()> task);
  void Stop();

 private:
  void Run();

  const size_t max_backlog_;
  absl::Mutex mutex_;
  std::deque<std::function<void()>> tasks_ ABSL_GUARDED_BY(mutex_);
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  std::vector<std::thread> threads_;
};

}  // namespace l4d2
