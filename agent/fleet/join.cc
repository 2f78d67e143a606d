#include "agent/fleet/join.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "agent/fleet/enrollment.h"
#include "agent/host/layout.h"
#include "common/clock.h"
#include "common/file_util.h"
#include "common/host_port.h"
#include "common/status_macros.h"
#include "common/yaml_document.h"
#include "rpc/health_check.h"
#include "tls/certificates.h"
#include "tls/signatures.h"
#include "yaml-cpp/yaml.h"

namespace l4d2::agent {
namespace {

// The host the configuration's certificate names, when it is valid and from the pinned CA.
absl::StatusOr<std::string> JoinedHost(const AgentConfig& config, const std::string& ca_pin) {
  if (config.tls_certificate.empty()) return absl::NotFoundError("no listen.tls");
  L4D2_ASSIGN_OR_RETURN(const std::string certificate,
                        ReadFileToString(config.tls_certificate, 1 << 20));
  L4D2_ASSIGN_OR_RETURN(const std::string ca, ReadFileToString(config.tls_ca, 1 << 20));
  L4D2_ASSIGN_OR_RETURN(const std::string pin, tls::CaPin(ca));
  if (pin != ca_pin) return absl::NotFoundError("another CA");
  L4D2_ASSIGN_OR_RETURN(const tls::CertificateFacts facts, tls::InspectCertificate(certificate));
  if (facts.not_after <= Clock::Real().Now()) return absl::NotFoundError("expired");
  return tls::AgentHostId(certificate);
}

// The configuration file with the enrolled files, the listener and the report address set
// (the rest of it kept; its comments are not).
absl::Status WriteJoinedConfig(const std::string& path, const EnrolledFiles& files) {
  YAML::Node root;
  absl::StatusOr<std::string> text = ReadFileToString(path, 1 << 20);
  if (text.ok()) {
    L4D2_ASSIGN_OR_RETURN(root, ParseYamlDocument(*text, path));
  } else if (!absl::IsNotFound(text.status())) {
    return text.status();
  }
  if (!root.IsMap()) root = YAML::Node(YAML::NodeType::Map);
  YAML::Node listen = root["listen"];
  if (!listen["tcp"] || listen["tcp"].as<std::string>("").empty()) {
    const std::optional<HostPort> dialled = SplitHostPort(files.address);
    listen["tcp"] = absl::StrCat("0.0.0.0:", dialled.has_value() ? dialled->port : 7543);
  }
  listen["tls"]["certificate"] = files.certificate;
  listen["tls"]["key"] = files.key;
  listen["tls"]["ca"] = files.ca;
  if (!files.report_to.empty()) {
    YAML::Node to(YAML::NodeType::Sequence);
    to.push_back(files.report_to);
    root["report"]["to"] = to;
  }
  YAML::Emitter out;
  out << root;
  return WriteFileAtomically(
      path, absl::StrCat("# Written by l4d2-agent join.\n", out.c_str(), "\n"), 0644);
}

absl::Status Systemctl(ProcessRunner& processes, const JoinRequest& request,
                       const std::vector<std::string>& args) {
  std::vector<std::string> argv = request.systemctl;
  argv.insert(argv.end(), args.begin(), args.end());
  L4D2_ASSIGN_OR_RETURN(
      ProcessResult result,
      RunProcess(processes, {.argv = argv, .env = request.systemctl_env}, absl::Seconds(60)));
  if (!result.exit.success()) {
    return absl::UnavailableError(
        absl::StrCat(absl::StrJoin(argv, " "), ": ", result.exit.ToString(), ": ", result.output));
  }
  return absl::OkStatus();
}

// Waits until the agent answers a health check on its unix socket.
absl::Status WaitUntilServing(const AgentConfig& config, absl::Duration timeout) {
  if (config.listen_unix.empty() ||
      AnswersHealthCheck("unix:" + config.listen_unix, RealDeadline(timeout),
                         /*wait_for_ready=*/true)) {
    return absl::OkStatus();
  }
  return absl::UnavailableError(absl::StrCat("the agent did not serve on '", config.listen_unix,
                                             "' within ", absl::FormatDuration(timeout)));
}

}  // namespace

absl::StatusOr<JoinResult> Join(const AgentConfig& config, const JoinRequest& request,
                                HttpFetcher& fetcher, ProcessRunner& processes) {
  if (!absl::StartsWith(request.ca_pin, "sha256:") || request.ca_pin.size() != 7 + 64) {
    return absl::InvalidArgumentError(
        "join: --ca_sha256 must be sha256:<64 hex digits>, as the controller prints it");
  }
  if (request.config_path.empty()) return absl::InvalidArgumentError("join: no --config file");
  JoinResult result;
  if (absl::StatusOr<std::string> joined = JoinedHost(config, request.ca_pin); joined.ok()) {
    result = {.host_id = *joined, .already_joined = true};
    L4D2_RETURN_IF_ERROR(Systemctl(processes, request, {"enable", "--now", request.unit}));
  } else {
    L4D2_ASSIGN_OR_RETURN(const std::string token, request.read_token());
    L4D2_ASSIGN_OR_RETURN(EnrolledFiles files,
                          Enroll(fetcher, request.controller_url, token,
                                 HostLayout(config.root).agent_dir() + "/tls", request.ca_pin));
    L4D2_RETURN_IF_ERROR(WriteJoinedConfig(request.config_path, files));
    result.host_id = files.host_id;
    L4D2_RETURN_IF_ERROR(Systemctl(processes, request, {"enable", request.unit}));
    L4D2_RETURN_IF_ERROR(Systemctl(processes, request, {"restart", request.unit}));
  }
  L4D2_RETURN_IF_ERROR(WaitUntilServing(config, request.serving_timeout));
  return result;
}

}  // namespace l4d2::agent
