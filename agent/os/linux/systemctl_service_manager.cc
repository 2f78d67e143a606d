#include "agent/os/linux/systemctl_service_manager.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/status_macros.h"

namespace l4d2::agent {

SystemctlServiceManager::SystemctlServiceManager(ProcessRunner& runner, SystemctlOptions options)
    : runner_(runner), options_(std::move(options)) {}

absl::StatusOr<std::string> SystemctlServiceManager::Run(const std::vector<std::string>& args) {
  ProcessOptions process{.argv = options_.command, .env = options_.env};
  process.argv.insert(process.argv.end(), args.begin(), args.end());
  absl::StatusOr<ProcessResult> result = RunProcess(runner_, process, options_.timeout);
  if (!result.ok()) {
    return absl::UnavailableError(
        absl::StrCat("systemctl ", absl::StrJoin(args, " "), ": ", result.status().message()));
  }
  if (!result->exit.success()) {
    std::string message(absl::StripAsciiWhitespace(result->output));
    return absl::FailedPreconditionError(absl::StrCat("systemctl ", absl::StrJoin(args, " "),
                                                      " failed (", result->exit.ToString(), ")",
                                                      message.empty() ? "" : ": ", message));
  }
  return result->output;
}

absl::Status SystemctlServiceManager::Start(const std::string& unit) {
  L4D2_RETURN_IF_ERROR(ValidateUnitName(unit));
  return Run({"start", unit}).status();
}

absl::Status SystemctlServiceManager::Stop(const std::string& unit) {
  L4D2_RETURN_IF_ERROR(ValidateUnitName(unit));
  absl::Status stopped = Run({"stop", unit}).status();
  // systemctl refuses to stop a unit that is not loaded; nothing of it runs, as asked.
  if (absl::IsFailedPrecondition(stopped)) {
    absl::StatusOr<UnitFacts> facts = Facts(unit);
    if (facts.ok() && facts->load_state == "not-found" && facts->active_state == "inactive") {
      return absl::OkStatus();
    }
  }
  return stopped;
}

absl::Status SystemctlServiceManager::Signal(const std::string& unit, int signal) {
  L4D2_RETURN_IF_ERROR(ValidateUnitName(unit));
  absl::Status sent =
      Run({"kill", "--kill-whom=all", absl::StrCat("--signal=", signal), unit}).status();
  // A unit that is not running has no process to signal.
  if (absl::IsFailedPrecondition(sent)) {
    absl::StatusOr<UnitFacts> facts = Facts(unit);
    if (facts.ok() && facts->main_pid == 0) return absl::OkStatus();
  }
  return sent;
}

absl::Status SystemctlServiceManager::ResetFailed(const std::string& unit) {
  L4D2_RETURN_IF_ERROR(ValidateUnitName(unit));
  // reset-failed of a unit that is not failed (or not loaded) is not an error for us.
  absl::StatusOr<std::string> output = Run({"reset-failed", unit});
  if (!output.ok() && absl::IsFailedPrecondition(output.status())) return absl::OkStatus();
  return output.status();
}

absl::StatusOr<UnitFacts> SystemctlServiceManager::Facts(const std::string& unit) {
  L4D2_RETURN_IF_ERROR(ValidateUnitName(unit));
  L4D2_ASSIGN_OR_RETURN(std::string output, Run({"show", "--timestamp=unix", "-p",
                                                 std::string(kUnitFactProperties), unit}));
  return ParseSystemctlShow(output);
}

absl::Status SystemctlServiceManager::Reload() { return Run({"daemon-reload"}).status(); }

absl::StatusOr<std::vector<UnitListing>> SystemctlServiceManager::ListUnits(
    const std::string& pattern) {
  L4D2_RETURN_IF_ERROR(ValidateUnitName(pattern));
  L4D2_ASSIGN_OR_RETURN(std::string output, Run({"list-units", "--all", "--plain", "--no-legend",
                                                 "--no-pager", "--full", pattern}));
  return ParseSystemctlListUnits(output);
}

}  // namespace l4d2::agent
