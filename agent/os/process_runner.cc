#include "agent/os/process_runner.h"

#include <signal.h>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/clock.h"
#include "common/status_macros.h"

namespace l4d2::agent {

std::string ExitStatus::ToString() const {
  return signaled ? absl::StrCat("killed by signal ", code) : absl::StrCat("exit status ", code);
}

absl::StatusOr<ProcessResult> RunProcess(ProcessRunner& runner, const ProcessOptions& options,
                                         absl::Duration timeout, size_t max_output) {
  const absl::Time deadline = RealDeadline(timeout);
  L4D2_ASSIGN_OR_RETURN(std::unique_ptr<RunningProcess> process, runner.Start(options));
  ProcessResult result;
  while (true) {
    absl::StatusOr<std::string> line = process->ReadLine(deadline);
    if (absl::IsOutOfRange(line.status())) break;
    if (!line.ok()) {
      process->Signal(SIGKILL);
      return absl::DeadlineExceededError(absl::StrCat(
          "'", options.argv[0], "' did not finish within ", absl::FormatDuration(timeout)));
    }
    if (result.output.size() < max_output) absl::StrAppend(&result.output, *line, "\n");
  }
  L4D2_ASSIGN_OR_RETURN(result.exit, process->Wait(deadline));
  return result;
}

}  // namespace l4d2::agent
