#pragma once

#include "agent/os/process_runner.h"

namespace l4d2::agent {

// ProcessRunner with posix_spawn(3): a new process group, default signal dispositions and an
// empty signal mask in the child (the agent blocks SIGTERM/SIGINT in all its threads), all
// descriptors but 0-2 closed (every descriptor the agent opens is O_CLOEXEC). Thread-safe.
class LinuxProcessRunner final : public ProcessRunner {
 public:
  absl::StatusOr<std::unique_ptr<RunningProcess>> Start(const ProcessOptions& options) override;
};

}  // namespace l4d2::agent
