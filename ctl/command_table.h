#pragma once

// Every l4d2ctl command in one table: what it is called, what it takes, what it does, and
// which flags it understands. The table generates `l4d2ctl --help`, each `l4d2ctl NOUN --help`,
// and the bash and zsh completion scripts (`l4d2ctl completion bash|zsh`, installed by
// `cmake --install`), and says which commands talk to the controller, so none of these can drift
// from another. The commands themselves run in agent_commands.cc, controller_commands.cc and
// login.cc.

#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace l4d2::ctl {

struct CommandSpec {
  // The first word: an agent verb ("start") or a controller noun ("servers").
  std::string noun;
  // The second word of a controller command ("list"); "" for an agent verb.
  std::string verb;
  // What follows, for the usage line: "NAME", "NAME COMMAND...".
  std::string arguments;
  std::string summary;
  // The flags it understands, without dashes.
  std::vector<std::string> flags;
  // Whether it talks to the controller (else to an agent).
  bool controller = false;
};

// Every command, in help order.
const std::vector<CommandSpec>& Commands();

// Whether `noun` is a command that talks to the controller (servers, hosts, ..., login).
bool IsControllerNoun(absl::string_view noun);
// Whether `noun` names any command.
bool IsKnownNoun(absl::string_view noun);

// The whole help: usage, every command, the global flags, the exit codes.
std::string ProgramHelp();
// One noun's commands with their flags; "" for an unknown noun.
std::string NounHelp(absl::string_view noun);

// Completion scripts for bash and zsh: nouns, verbs and each command's flags.
std::string BashCompletion();
std::string ZshCompletion();

}  // namespace l4d2::ctl
