#pragma once

// OS capability: running an administrator's overlay script so that it can write only one
// directory, the new overlay version being built.
//
// Implementation: os/linux/bubblewrap_sandbox.h (bubblewrap as an unprivileged user). Tests of
// the overlay logic use a fake that runs nothing.

#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace l4d2::agent {

struct ScriptJob {
  // The script's text. Run by /bin/sh -e unless it starts with "#!".
  std::string source;
  // The one writable directory (must exist); the script's working directory. Its sibling
  // `<workdir>.script` is used while the script runs and removed after.
  std::string workdir;
  // The script is killed after this long.
  absl::Duration timeout = absl::Minutes(10);
  // Whether the script may reach the network.
  bool network = false;
};

class ScriptSandbox {
 public:
  // Called with each line of the script's output (stdout and stderr merged), without newline.
  using LineSink = std::function<void(absl::string_view line)>;

  virtual ~ScriptSandbox() = default;

  // Runs the script to its end. On return, whether it succeeded or not, nothing runs any more
  // and everything below `workdir` belongs to the agent's user again, without set-id bits and
  // without group or other write permission.
  //
  // Errors: FAILED_PRECONDITION when the script exits non-zero or is killed by a signal
  // (message with the exit status and the last output lines) or when the sandbox cannot be
  // set up on this host; DEADLINE_EXCEEDED when it ran longer than the timeout.
  virtual absl::Status Run(const ScriptJob& job, const LineSink& output) = 0;
};

}  // namespace l4d2::agent
