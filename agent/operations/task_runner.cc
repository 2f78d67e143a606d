#include "agent/operations/task_runner.h"

namespace l4d2::agent {

TaskRunner::~TaskRunner() { JoinAll(); }

void TaskRunner::JoinAll() {
  std::list<Task> tasks;
  {
    absl::MutexLock lock(&mutex_);
    tasks.swap(tasks_);
  }
  for (Task& task : tasks) task.thread.join();
}

void TaskRunner::ReapLocked() {
  for (auto it = tasks_.begin(); it != tasks_.end();) {
    if (it->done) {
      it->thread.join();
      it = tasks_.erase(it);
    } else {
      ++it;
    }
  }
}

void TaskRunner::Run(std::function<void()> task) {
  absl::MutexLock lock(&mutex_);
  ReapLocked();
  Task& slot = tasks_.emplace_back();
  slot.thread = std::thread([this, &slot, task = std::move(task)] {
    task();
    absl::MutexLock done_lock(&mutex_);
    slot.done = true;
  });
}

int TaskRunner::Running() const {
  absl::MutexLock lock(&mutex_);
  int running = 0;
  for (const Task& task : tasks_) running += task.done ? 0 : 1;
  return running;
}

}  // namespace l4d2::agent
