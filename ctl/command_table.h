#pragma once

// Every l4d2ctl command in one table: what it is called, what it takes, what it does, and
// which flags it understands. The table generates `l4d2ctl --help`, each `l4d2ctl NOUN --help`,
// and the bash and zsh completion scripts (`l4d2ctl completion bash|zsh`, installed by
// `cmake --install`), and says which commands talk to the controller, so none of these can drift
// from another, and dispatches: RunCommand finds the command, checks its arguments' count and
// runs its handler (agent_commands.h, controller_commands.h, login.h).

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "ctl/command.h"

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
  // How many positional arguments it takes (max kAny: no limit).
  int min_args = 0;
  int max_args = 0;
  CommandHandler run = nullptr;

  static constexpr int kAny = -1;
};

// Every command, in help order.
const std::vector<CommandSpec>& Commands();

// Whether `noun` is a command that talks to the controller (servers, hosts, ..., login).
bool IsControllerNoun(absl::string_view noun);
// Whether `noun` names any command.
bool IsKnownNoun(absl::string_view noun);

// Runs the command `words` name (noun, verb, arguments). An unknown noun or verb, or the wrong
// number of arguments, is a usage error (2) naming the command's usage from the table; a
// controller command without a controller named says how to name one. The verb defaults to
// "list" where the noun has one.
int RunCommand(const CommandContext& context, const std::vector<std::string>& words);

// Prints the command's usage line from the table (after `why`, when given); returns the usage
// exit code. For handlers whose required flags are missing.
int UsageError(const CommandContext& context, const Invocation& invocation,
               absl::string_view why = "");

// The whole help: usage, every command, the global flags, the exit codes.
std::string ProgramHelp();
// One noun's commands with their flags; "" for an unknown noun.
std::string NounHelp(absl::string_view noun);

// Completion scripts for bash and zsh: nouns, verbs and each command's flags.
std::string BashCompletion();
std::string ZshCompletion();

}  // namespace l4d2::ctl
