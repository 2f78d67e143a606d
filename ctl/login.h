#pragma once

// `l4d2ctl login`: from a username and password to an API token that later commands use, the
// way an operator starts with a controller. Signs in (a session, as the web UI does), makes an
// API token, signs out, and saves the token to a file only its owner can read and the
// controller URL and that file in l4d2ctl's config, so `l4d2ctl hosts list` then needs no flags.

#include "ctl/command.h"

namespace l4d2::ctl {

// Exit codes as every command's (docs/l4d2ctl.md): 0 done, 1 refused (wrong password, ...),
// 2 usage, 3 unreachable. Prints where the token went; never the token.
// The options are context.options.login; the password is typed, or $L4D2_PASSWORD (never from
// the command line).
int RunLoginCommand(const CommandContext& context, const Invocation& invocation);

}  // namespace l4d2::ctl
