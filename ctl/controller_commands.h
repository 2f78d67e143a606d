#pragma once

// l4d2ctl's commands against the controller's HTTP API (docs/l4d2ctl.md), nouns first so they
// never clash with the agent's verbs:
//   servers list|show|create|start|stop|restart|reset|delete|console|logs|bulk
//   hosts list|show|create|drain|undrain|install|delete
//   blueprints list|apply|export|delete      overlays list|apply|export|sync|delete
//   jobs list|show|watch|cancel              tokens list|create|revoke
// Objects are named by name (servers, hosts, blueprints) or ref (overlays), or by id. Exit
// codes as the agent commands': 0 success, 1 refused or failed (the controller's message on
// stderr; `jobs watch` and --wait: the job did not succeed), 2 usage, 3 unreachable.

#include <string>
#include <vector>

#include "ctl/agent_commands.h"

namespace l4d2::ctl {

// Whether `noun` names a controller command ("servers", "hosts", ...).
bool IsControllerCommand(const std::string& noun);

// Runs `args` (noun, verb, arguments) against `context.controller`.
int RunControllerCommand(const CommandContext& context, const std::vector<std::string>& args);

}  // namespace l4d2::ctl
