#pragma once

// `l4d2ctl login`: from a username and password to an API token that later commands use, the
// way an operator starts with a controller. Signs in (a session, as the web UI does), makes an
// API token, signs out, and saves the token to a file only its owner can read and the
// controller URL and that file in l4d2ctl's config, so `l4d2ctl hosts list` then needs no flags.

#include <string>
#include <vector>

#include "ctl/agent_commands.h"

namespace l4d2::ctl {

struct LoginOptions {
  std::string url;                  // the controller
  std::string username;             // required
  std::string password;             // never from the command line (main.cc reads it)
  std::string token_name;           // shown in `tokens list`
  std::vector<std::string> scopes;  // empty: read and write
  std::string token_file;           // written with mode 0600
  std::string config_file;          // rewritten: `controller:` and `token_file:`
};

// Exit codes as every command's (docs/l4d2ctl.md): 0 done, 1 refused (wrong password, ...),
// 2 usage, 3 unreachable. Prints where the token went; never the token.
int RunLoginCommand(const CommandContext& context, const LoginOptions& options);

}  // namespace l4d2::ctl
