// l4d2ctl: the command line for operators and CI. See docs/l4d2ctl.md.

#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "common/version.h"
#include "ctl/agent_channel.h"
#include "ctl/agent_commands.h"

ABSL_FLAG(std::string, agent, "",
          "agent address: unix:/path/agent.sock, /path/agent.sock or host:port (default "
          "$L4D2_AGENT, else unix:/run/left4me/agent.sock)");
ABSL_FLAG(bool, json, false, "print data as JSON (protobuf JSON mapping)");
ABSL_FLAG(absl::Duration, timeout, absl::Seconds(30), "deadline of each call");
ABSL_FLAG(bool, version, false, "print the version and exit");

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "l4d2ctl [--agent ADDRESS] [--json] COMMAND\n"
      "Commands against an agent:\n"
      "  host      the host's facts (resources, installed build, ports, instances)\n"
      "  health    the agent's health check (exit 0 when SERVING)\n"
      "Exit codes: 0 success, 1 failed (message on stderr), 2 usage, 3 agent unreachable.");
  std::vector<char*> positional = absl::ParseCommandLine(argc, argv);
  if (absl::GetFlag(FLAGS_version)) {
    std::cout << "l4d2ctl " << l4d2::kVersion << "\n";
    return 0;
  }
  std::string address = absl::GetFlag(FLAGS_agent);
  if (address.empty()) {
    const char* env = std::getenv("L4D2_AGENT");
    address = env != nullptr && *env != '\0' ? env : "unix:/run/left4me/agent.sock";
  }
  l4d2::ctl::CommandContext context{.channel = l4d2::ctl::MakeAgentChannel(address),
                                    .json = absl::GetFlag(FLAGS_json),
                                    .timeout = absl::GetFlag(FLAGS_timeout),
                                    .out = &std::cout,
                                    .err = &std::cerr};
  std::vector<std::string> args(positional.begin() + 1, positional.end());
  return l4d2::ctl::RunAgentCommand(context, args);
}
