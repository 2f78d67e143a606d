#pragma once

// l4d2ctl's commands against one agent. Each returns the process exit code (docs/l4d2ctl.md):
//   0 success, 1 the agent refused or failed (its message on stderr), 2 usage error,
//   3 the agent was unreachable or timed out.
// Output goes to `out`, errors to `err`, so tests can run commands in-process.

#include <cstdint>
#include <iosfwd>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpcpp/channel.h"
#include "l4d2/agent/v1/overlay.pb.h"

namespace l4d2::ctl {

class ControllerClient;

struct CommandContext {
  std::shared_ptr<grpc::Channel> channel;
  bool json = false;
  // Deadline of unary calls; long operations (install) are bounded by the agent instead.
  absl::Duration timeout = absl::Seconds(30);
  std::ostream* out;
  std::ostream* err;
  // Whether `out` is a terminal: progress bars instead of plain lines.
  bool terminal = false;
  // The operation id of mutating commands; a retry with the same id re-attaches to (or
  // returns) the first run instead of starting another.
  std::string operation_id;
  // install: steamcmd validate, beta branch, use the host's Steam account.
  bool validate = false;
  std::string branch;
  bool steam_account = false;
  // initialize: the spec file (-f / --file).
  std::string spec_file;
  // logs: how many of the newest lines, whether to follow, where to resume.
  int lines = 200;
  bool follow = false;
  std::string after_cursor;
  // overlay sync: the local directory whose files become the new version, or an archive.
  std::string dir;
  std::string url;
  std::string sha256;
  std::string destination;
  int strip_components = 0;
  std::vector<uint64_t> workshop_items;
  std::vector<uint64_t> workshop_collections;
  // overlay sync: an admin script file run in the agent's sandbox, its time limit (zero: the
  // agent's default) and whether it may use the network.
  std::string script;
  absl::Duration script_timeout = absl::ZeroDuration();
  bool network = false;

  // Controller commands (controller_commands.h): the client, and their flags.
  ControllerClient* controller = nullptr;
  std::string blueprint;  // servers create, bulk: a blueprint's name or id
  std::string host;       // bulk: a host's name or id
  std::string address;    // hosts create: the agent's host:port
  int max_instances = 0;  // hosts create (0: the controller's default)
  int port_first = 0;
  int port_last = 0;
  std::string state;                              // jobs list: a job state
  absl::Duration stagger = absl::ZeroDuration();  // bulk
  std::vector<std::string> scopes;                // tokens create
  bool stopped = false;                           // servers create: do not start it
  bool wait = false;                              // follow the queued job to its end
  bool global = false;                            // overlays apply: a global overlay (admins)
};

// `host`: the agent's host facts.
int RunHostCommand(const CommandContext& context);
// `health`: the standard health check of the whole agent; prints SERVING or NOT_SERVING.
int RunHealthCommand(const CommandContext& context);
// `install`: installs or updates the game, following progress to the end.
int RunInstallCommand(const CommandContext& context);
// `check-update`: installed build against the newest public build; exit 0 either way.
int RunCheckUpdateCommand(const CommandContext& context);

// initialize (with `spec_file`), start, stop, restart, reset, delete or status of one
// instance. delete of a missing instance succeeds.
int RunInstanceCommand(const CommandContext& context, const std::string& verb,
                       const std::string& name, const std::string& spec_file);
// `console <name> <command...>`: one console line over RCON; prints its output.
int RunConsoleCommand(const CommandContext& context, const std::string& name,
                      const std::string& command);
// `logs <name>`: the newest lines of the server's console, then new ones with follow.
int RunLogsCommand(const CommandContext& context, const std::string& name);
// `overlay sync <ref> --dir DIR` (every regular file below DIR, as inline files) and
// `overlay list`.
int RunOverlayCommand(const CommandContext& context, const std::vector<std::string>& args);
// The overlay source the flags describe (--dir, --url/--sha256, --workshop/--collections or
// --script), without operation id and ref. INVALID_ARGUMENT for an unreadable file or
// directory.
absl::StatusOr<agent::v1::SyncOverlayRequest> OverlaySourceFromFlags(const CommandContext& context);

// `list`: every instance with its state, and orphans.
int RunListCommand(const CommandContext& context);

// A fresh operation id ("l4d2ctl-<unix-ms>-<random>").
std::string NewOperationId();

// Dispatches `args` (the command and its arguments) to the commands above.
int RunAgentCommand(const CommandContext& context, const std::vector<std::string>& args);

}  // namespace l4d2::ctl
