#pragma once

// Runs a program for a test: posix_spawn (gRPC does not survive fork without exec), stdout and
// stderr captured together through a pipe by a reader thread, stdin from /dev/null, in a
// process group of its own. Signal() and the destructor (SIGKILL) act on the whole group, so
// no descendant outlives the test.

#include <sys/types.h>

#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace l4d2::testing {

struct ChildOptions {
  std::vector<std::string> argv;
  // Added to (or replacing in) the test's own environment.
  std::map<std::string, std::string> env;
  // Working directory; empty keeps the test's.
  std::string cwd;
};

class ChildProcess {
 public:
  static absl::StatusOr<std::unique_ptr<ChildProcess>> Start(const ChildOptions& options);

  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  ~ChildProcess();

  pid_t pid() const { return pid_; }
  // Everything printed so far.
  std::string Output() const;
  // Waits until the output contains `text`.
  bool WaitForOutput(const std::string& text, absl::Duration timeout = absl::Seconds(10)) const;
  // Waits until every holder of the output pipe (the process and its descendants) closed it.
  bool WaitForOutputClosed(absl::Duration timeout = absl::Seconds(10)) const;
  // Sends a signal to the process group.
  void Signal(int signal_number) const;
  // The wait(2) status once the process ended, or DEADLINE_EXCEEDED. Returns once its output
  // was read to the end too (the reader thread may lag the exit: Output() after Wait() missed
  // the last lines), or 2 s after the exit when a descendant still holds the pipe.
  absl::StatusOr<int> Wait(absl::Duration timeout = absl::Seconds(10));
  // Whether the process still runs (not reaped yet).
  bool Running();

 private:
  // What the reader thread writes; shared so that a reader left behind (a descendant that
  // escaped the process group still holds the pipe) never touches a destroyed object.
  struct SharedOutput {
    absl::Mutex mutex;
    std::string text ABSL_GUARDED_BY(mutex);
    bool closed ABSL_GUARDED_BY(mutex) = false;
  };

  ChildProcess() = default;
  static void ReadOutput(int fd, std::shared_ptr<SharedOutput> output);

  pid_t pid_ = -1;
  bool reaped_ = false;
  int status_ = 0;
  std::thread reader_;
  std::shared_ptr<SharedOutput> output_ = std::make_shared<SharedOutput>();
};

// Runs a program to completion; returns its output, and its wait status in `status`.
absl::StatusOr<std::string> RunToCompletion(const ChildOptions& options, int* status,
                                            absl::Duration timeout = absl::Seconds(60));

}  // namespace l4d2::testing
