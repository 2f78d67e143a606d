#pragma once

#include <string>
#include <vector>

#include "agent/os/process_runner.h"
#include "agent/os/service_manager.h"

namespace l4d2::agent {

struct SystemctlOptions {
  // The command prefix: {"/usr/bin/systemctl"} for the system manager,
  // {"/usr/bin/systemctl", "--user"} for a user manager, or a fixed-verb privileged helper
  // such as {"/usr/bin/sudo", "-n", "/usr/libexec/left4me/left4me-systemctl"}.
  std::vector<std::string> command = {"/usr/bin/systemctl"};
  // The environment of each call (a user manager needs XDG_RUNTIME_DIR).
  std::vector<std::string> env;
  // How long one call may take (a stop waits for the unit's own stop timeout).
  absl::Duration timeout = absl::Seconds(90);
};

// ServiceManager through the systemctl command line. Thread-safe: each call is one process.
class SystemctlServiceManager final : public ServiceManager {
 public:
  // `runner` must outlive the manager.
  SystemctlServiceManager(ProcessRunner& runner, SystemctlOptions options);

  absl::Status Start(const std::string& unit) override;
  absl::Status Stop(const std::string& unit) override;
  absl::Status Signal(const std::string& unit, int signal) override;
  absl::Status ResetFailed(const std::string& unit) override;
  absl::StatusOr<UnitFacts> Facts(const std::string& unit) override;
  absl::Status Reload() override;
  absl::StatusOr<std::vector<UnitListing>> ListUnits(const std::string& pattern) override;

 private:
  absl::StatusOr<std::string> Run(const std::vector<std::string>& args);

  ProcessRunner& runner_;
  SystemctlOptions options_;
};

}  // namespace l4d2::agent
