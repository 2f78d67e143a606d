#pragma once

// OS capability: running programs (steamcmd, systemctl, journalctl, the overlay helper).
//
// A program gets exactly the environment and working directory given (nothing inherited), its
// own process group (signals reach its descendants), stdin from /dev/null, and stdout and stderr
// merged into one stream read line by line. Secrets must never be put in argv: pass them in a
// file or on the environment of a short-lived process.
//
// Implementations: os/linux/linux_process_runner.h (posix_spawn, never fork without exec:
// gRPC does not survive it); tests script processes with a fake.

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace l4d2::agent {

struct ProcessOptions {
  // argv[0] is an absolute path; no PATH search.
  std::vector<std::string> argv;
  // "KEY=VALUE" entries: the complete environment.
  std::vector<std::string> env;
  // Empty: the agent's own working directory.
  std::string cwd;
};

struct ExitStatus {
  // True when a signal ended the process; `code` is then the signal number.
  bool signaled = false;
  int code = 0;

  bool success() const { return !signaled && code == 0; }
  std::string ToString() const;
};

// One started program. Not thread-safe: one owner reads and waits. Destroying it kills the
// process group (SIGKILL) if the process still runs, and reaps it.
class RunningProcess {
 public:
  virtual ~RunningProcess() = default;

  virtual int pid() const = 0;
  // The next line of output without its newline (a final line without one is returned too).
  // DEADLINE_EXCEEDED when no whole line arrived by `deadline`; OUT_OF_RANGE at the end of the
  // output. Lines longer than 64 KiB are split.
  virtual absl::StatusOr<std::string> ReadLine(absl::Time deadline) = 0;
  // Sends `signal_number` to the process group.
  virtual void Signal(int signal_number) = 0;
  // Waits for the process to end. DEADLINE_EXCEEDED if it still runs at `deadline`.
  virtual absl::StatusOr<ExitStatus> Wait(absl::Time deadline) = 0;
};

class ProcessRunner {
 public:
  virtual ~ProcessRunner() = default;
  // INVALID_ARGUMENT for an empty or relative argv[0]; NOT_FOUND / PERMISSION_DENIED when it
  // cannot be executed.
  virtual absl::StatusOr<std::unique_ptr<RunningProcess>> Start(const ProcessOptions& options) = 0;
};

struct ProcessResult {
  ExitStatus exit;
  std::string output;
};

// Runs a program to its end and collects its output (at most `max_output` bytes; the rest is
// dropped). DEADLINE_EXCEEDED (after killing it) when it runs longer than `timeout`.
absl::StatusOr<ProcessResult> RunProcess(ProcessRunner& runner, const ProcessOptions& options,
                                         absl::Duration timeout,
                                         size_t max_output = size_t{1} << 20);

}  // namespace l4d2::agent
