#pragma once

#include <string>
#include <vector>

#include "agent/os/process_runner.h"

namespace l4d2::agent {

// A child started by SpawnWithOutputPipe: its pid and the read end of its output pipe.
struct SpawnedChild {
  int pid = -1;
  int output_fd = -1;
};

// posix_spawn(3) with stdin from /dev/null, stdout and stderr into one new pipe, a new process
// group, default signal dispositions and an empty mask. `env` is the complete environment;
// `cwd` empty keeps the caller's. The caller owns the pipe and must reap the child.
absl::StatusOr<SpawnedChild> SpawnWithOutputPipe(const std::vector<std::string>& argv,
                                                 const std::vector<std::string>& env,
                                                 const std::string& cwd);

// ProcessRunner with posix_spawn(3): a new process group, default signal dispositions and an
// empty signal mask in the child (the agent blocks SIGTERM/SIGINT in all its threads), all
// descriptors but 0-2 closed (every descriptor the agent opens is O_CLOEXEC). Thread-safe.
class LinuxProcessRunner final : public ProcessRunner {
 public:
  absl::StatusOr<std::unique_ptr<RunningProcess>> Start(const ProcessOptions& options) override;
};

}  // namespace l4d2::agent
