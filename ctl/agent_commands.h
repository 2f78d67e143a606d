#pragma once

// l4d2ctl's commands against one agent (docs/l4d2ctl.md), each a CommandHandler of the command
// table: the verb is the invocation's noun, its arguments the positional ones after it. Exit
// codes as exit_codes.h: 0 success, 1 the agent refused or failed (its message on stderr),
// 2 usage error, 3 the agent was unreachable or timed out.

#include <string>

#include "absl/status/statusor.h"
#include "ctl/command.h"
#include "l4d2/agent/v1/overlay.pb.h"

namespace l4d2::ctl {

// `host`: the agent's host facts.
int RunHostCommand(const CommandContext& context, const Invocation& invocation);
// `health`: the standard health check of the whole agent; prints SERVING or NOT_SERVING.
int RunHealthCommand(const CommandContext& context, const Invocation& invocation);
// `install`: installs or updates the game, following progress to the end.
int RunInstallCommand(const CommandContext& context, const Invocation& invocation);
// `check-update`: installed build against the newest public build; exit 0 either way.
int RunCheckUpdateCommand(const CommandContext& context, const Invocation& invocation);
// `initialize NAME -f SPEC`, `start|stop|restart|reset|delete|status NAME`: one instance.
// delete of a missing instance succeeds.
int RunInstanceCommand(const CommandContext& context, const Invocation& invocation);
// `console NAME COMMAND...`: one console line over RCON; prints its output.
int RunConsoleCommand(const CommandContext& context, const Invocation& invocation);
// `logs NAME`: the newest lines of the server's console, then new ones with --follow.
int RunLogsCommand(const CommandContext& context, const Invocation& invocation);
// `overlay sync REF SOURCE` (one of the source flags) and `overlay list`.
int RunOverlaySyncCommand(const CommandContext& context, const Invocation& invocation);
int RunOverlayListCommand(const CommandContext& context, const Invocation& invocation);
// `list`: every instance with its state, and orphans.
int RunListCommand(const CommandContext& context, const Invocation& invocation);

// The overlay source the flags describe (--dir, --url/--sha256, --workshop/--collections or
// --script), without operation id and ref. INVALID_ARGUMENT for an unreadable file or
// directory.
absl::StatusOr<agent::v1::SyncOverlayRequest> OverlaySourceFromFlags(
    const OverlaySourceOptions& flags);

// A fresh operation id ("l4d2ctl-<unix-ms>-<random>").
std::string NewOperationId();

}  // namespace l4d2::ctl
