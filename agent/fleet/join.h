#pragma once

// `l4d2-agent join`: one idempotent command that makes an installed host a ready fleet host
// (as `kubeadm join` does for a node). It enrolls with the one-time token, trusting only the
// controller CA pinned on the command line (tls::CaPin), writes the listen.tcp, listen.tls and
// report.to settings into the agent's configuration file, enables and (re)starts the agent's
// unit, and returns once the agent serves. Run again on a joined host (a valid certificate from
// the pinned CA in the configuration), it enrolls nothing and rewrites nothing: it only makes
// sure the unit is enabled and running.

#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "agent/config/agent_config.h"
#include "agent/os/process_runner.h"
#include "common/http/http_fetcher.h"

namespace l4d2::agent {

struct JoinRequest {
  std::string controller_url;  // "https://controller.example"
  // The host's one-time enrollment token, read only when there is something to enroll.
  std::function<absl::StatusOr<std::string>()> read_token;
  std::string ca_pin;       // "sha256:<hex>" of the controller's CA key
  std::string config_path;  // the file `config` was read from, rewritten on a join
  std::string unit = "left4me-agent.service";
  // systemctl and its environment (AgentEnvironment).
  std::vector<std::string> systemctl;
  std::vector<std::string> systemctl_env;
  absl::Duration serving_timeout = absl::Seconds(30);
};

struct JoinResult {
  std::string host_id;
  bool already_joined = false;
};

// INVALID_ARGUMENT for a bad request (no token, a malformed pin); the enrollment's errors
// (UNAUTHENTICATED for a refused token, FAILED_PRECONDITION for another CA), nothing written;
// UNAVAILABLE when the unit does not start or the agent does not serve in time.
absl::StatusOr<JoinResult> Join(const AgentConfig& config, const JoinRequest& request,
                                HttpFetcher& fetcher, ProcessRunner& processes);

}  // namespace l4d2::agent
