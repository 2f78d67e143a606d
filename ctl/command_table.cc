#include "ctl/command_table.h"

#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "ctl/exit_codes.h"

namespace l4d2::ctl {
namespace {

// Flags every command understands.
const std::vector<std::string>& GlobalFlags() {
  static const auto* flags =
      new std::vector<std::string>{"agent",   "controller",   "token_file", "config", "json",
                                   "timeout", "operation_id", "help",       "version"};
  return *flags;
}

// The usage line of one command: "servers create NAME --blueprint NAME".
std::string UsageLine(const CommandSpec& command) {
  std::string line = command.noun;
  if (!command.verb.empty()) absl::StrAppend(&line, " ", command.verb);
  if (!command.arguments.empty()) absl::StrAppend(&line, " ", command.arguments);
  return line;
}

std::string FlagList(const std::vector<std::string>& flags) {
  std::vector<std::string> dashed;
  for (const std::string& flag : flags) dashed.push_back("--" + flag);
  return absl::StrJoin(dashed, " ");
}

// `text` in single quotes for a shell.
std::string Quoted(absl::string_view text) {
  return absl::StrCat("'", absl::StrReplaceAll(text, {{"'", "'\\''"}}), "'");
}

// Nouns in table order, each once.
std::vector<std::string> Nouns() {
  std::vector<std::string> nouns;
  std::set<std::string> seen;
  for (const CommandSpec& command : Commands()) {
    if (seen.insert(command.noun).second) nouns.push_back(command.noun);
  }
  return nouns;
}

// Every flag a noun's commands take (for completion), and the global ones.
std::vector<std::string> NounFlags(const std::string& noun) {
  std::set<std::string> flags(GlobalFlags().begin(), GlobalFlags().end());
  for (const CommandSpec& command : Commands()) {
    if (command.noun == noun) flags.insert(command.flags.begin(), command.flags.end());
  }
  return {flags.begin(), flags.end()};
}

}  // namespace

namespace {

const CommandSpec* FindCommand(absl::string_view noun, absl::string_view verb) {
  for (const CommandSpec& command : Commands()) {
    if (command.noun == noun && command.verb == verb) return &command;
  }
  return nullptr;
}

// "list|show|create" of a noun with verbs.
std::string Verbs(absl::string_view noun) {
  std::vector<std::string> verbs;
  for (const CommandSpec& command : Commands()) {
    if (command.noun == noun && !command.verb.empty()) verbs.push_back(command.verb);
  }
  return absl::StrJoin(verbs, "|");
}

}  // namespace

int UsageError(const CommandContext& context, const Invocation& invocation, absl::string_view why) {
  const CommandSpec* command = FindCommand(invocation.noun, invocation.verb);
  *context.err << "l4d2ctl: " << (why.empty() ? "" : absl::StrCat(why, "; ")) << "usage: l4d2ctl "
               << (command != nullptr ? UsageLine(*command) : invocation.noun) << " (l4d2ctl "
               << invocation.noun << " --help)\n";
  return kExitUsage;
}

int RunCommand(const CommandContext& context, const std::vector<std::string>& words) {
  if (words.empty()) {
    *context.err << "l4d2ctl: no command given (see l4d2ctl --help)\n";
    return kExitUsage;
  }
  Invocation invocation{.noun = words[0]};
  if (!IsKnownNoun(invocation.noun)) {
    *context.err << "l4d2ctl: unknown command '" << invocation.noun << "' (see l4d2ctl --help)\n";
    return kExitUsage;
  }
  size_t first_argument = 1;
  if (const std::string verbs = Verbs(invocation.noun); !verbs.empty()) {
    invocation.verb = words.size() > 1 ? words[1] : "list";
    first_argument = 2;
    if (FindCommand(invocation.noun, invocation.verb) == nullptr) {
      *context.err << "l4d2ctl: usage: l4d2ctl " << invocation.noun << " " << verbs << " (l4d2ctl "
                   << invocation.noun << " --help)\n";
      return kExitUsage;
    }
  }
  const CommandSpec& command = *FindCommand(invocation.noun, invocation.verb);
  if (words.size() > first_argument) {
    invocation.args.assign(words.begin() + first_argument, words.end());
  }
  const int count = static_cast<int>(invocation.args.size());
  if (count < command.min_args ||
      (command.max_args != CommandSpec::kAny && count > command.max_args)) {
    return UsageError(
        context, invocation,
        command.max_args == 0 ? absl::StrCat("'", UsageLine(command), "' takes no arguments") : "");
  }
  if (command.controller && command.noun != "login" && context.controller == nullptr) {
    *context.err << "l4d2ctl: '" << command.noun
                 << "' talks to the controller: give --controller URL (or L4D2_CONTROLLER) and "
                    "an API token (--token_file FILE or L4D2_TOKEN), or run l4d2ctl login\n";
    return kExitUsage;
  }
  return command.run(context, invocation);
}

bool IsControllerNoun(absl::string_view noun) {
  for (const CommandSpec& command : Commands()) {
    if (command.noun == noun) return command.controller;
  }
  return false;
}

bool IsKnownNoun(absl::string_view noun) {
  for (const CommandSpec& command : Commands()) {
    if (command.noun == noun) return true;
  }
  return false;
}

std::string ProgramHelp() {
  std::string help =
      "usage: l4d2ctl [--agent ADDRESS | --controller URL] [--json] COMMAND\n"
      "The command line for left4me: an agent's servers over gRPC, the fleet through the\n"
      "controller's API. `l4d2ctl NOUN --help` shows one noun's commands and flags.\n";
  bool controller_heading = false;
  absl::StrAppend(&help, "Commands against an agent (--agent, default $L4D2_AGENT):\n");
  for (const CommandSpec& command : Commands()) {
    if (command.controller && !controller_heading) {
      controller_heading = true;
      absl::StrAppend(&help,
                      "Commands against the controller (--controller URL and an API token; "
                      "see login):\n");
    }
    if (command.noun == "completion") continue;
    absl::StrAppend(&help, absl::StrFormat("  %-44s %s\n", UsageLine(command), command.summary));
  }
  absl::StrAppend(&help, absl::StrFormat("  %-44s %s\n", "completion bash|zsh",
                                         "print the shell completion script"));
  absl::StrAppend(&help,
                  "Exit codes: 0 success, 1 failed (message on stderr), 2 usage, 3 agent or "
                  "controller unreachable.");
  return help;
}

std::string NounHelp(absl::string_view noun) {
  std::string help;
  for (const CommandSpec& command : Commands()) {
    if (command.noun != noun) continue;
    absl::StrAppend(&help,
                    absl::StrFormat("  l4d2ctl %-40s %s\n", UsageLine(command), command.summary));
    if (!command.flags.empty()) {
      absl::StrAppend(&help, absl::StrFormat("  %-48s flags: %s\n", "", FlagList(command.flags)));
    }
  }
  if (help.empty()) return "";
  return absl::StrCat("usage:\n", help, "global flags: ", FlagList(GlobalFlags()),
                      "\n(each flag's meaning: l4d2ctl --help)\n");
}

std::string BashCompletion() {
  std::string cases;
  for (const std::string& noun : Nouns()) {
    std::vector<std::string> verbs;
    for (const CommandSpec& command : Commands()) {
      if (command.noun == noun && !command.verb.empty()) verbs.push_back(command.verb);
    }
    absl::StrAppend(&cases, "    ", noun, ") verbs=\"", absl::StrJoin(verbs, " "), "\"; flags=\"",
                    FlagList(NounFlags(noun)), "\" ;;\n");
  }
  return absl::StrCat(
      "# bash completion for l4d2ctl, generated by `l4d2ctl completion bash`.\n"
      "_l4d2ctl() {\n"
      "  local cur=${COMP_WORDS[COMP_CWORD]} noun=\"\" word i verbs=\"\" flags=\"\"\n"
      "  for ((i = 1; i < COMP_CWORD; i++)); do\n"
      "    word=${COMP_WORDS[i]}\n"
      "    [[ $word == -* ]] && continue\n"
      "    noun=$word\n"
      "    break\n"
      "  done\n"
      "  case $noun in\n",
      cases, "    *) flags=\"", FlagList(GlobalFlags()), "\" ;;\n",
      "  esac\n"
      "  if [[ $cur == -* ]]; then\n"
      "    COMPREPLY=($(compgen -W \"$flags\" -- \"$cur\"))\n"
      "  elif [[ -z $noun ]]; then\n"
      "    COMPREPLY=($(compgen -W \"",
      absl::StrJoin(Nouns(), " "), "\" -- \"$cur\"))\n",
      "  elif [[ -n $verbs && ${COMP_WORDS[COMP_CWORD-1]} == \"$noun\" ]]; then\n"
      "    COMPREPLY=($(compgen -W \"$verbs\" -- \"$cur\"))\n"
      "  fi\n"
      "}\n"
      "complete -o default -F _l4d2ctl l4d2ctl\n");
}

std::string ZshCompletion() {
  std::string cases;
  for (const std::string& noun : Nouns()) {
    std::vector<std::string> verbs;
    for (const CommandSpec& command : Commands()) {
      if (command.noun == noun && !command.verb.empty()) {
        verbs.push_back(Quoted(absl::StrCat(command.verb, ":", command.summary)));
      }
    }
    absl::StrAppend(&cases, "    ", noun, ") verbs=(", absl::StrJoin(verbs, " "), "); flags=(",
                    FlagList(NounFlags(noun)), ") ;;\n");
  }
  std::vector<std::string> nouns;
  for (const std::string& noun : Nouns()) {
    for (const CommandSpec& command : Commands()) {
      if (command.noun == noun) {
        nouns.push_back(Quoted(
            absl::StrCat(noun, ":", command.verb.empty() ? command.summary : noun + " commands")));
        break;
      }
    }
  }
  return absl::StrCat(
      "#compdef l4d2ctl\n"
      "# zsh completion for l4d2ctl, generated by `l4d2ctl completion zsh`.\n"
      "_l4d2ctl() {\n"
      "  local -a nouns verbs flags\n"
      "  local noun=${${words[2,CURRENT-1]:#-*}[1]}\n"
      "  nouns=(",
      absl::StrJoin(nouns, " "),
      ")\n"
      "  case $noun in\n",
      cases, "    *) flags=(", FlagList(GlobalFlags()), ") ;;\n",
      "  esac\n"
      "  if [[ $PREFIX == -* ]]; then\n"
      "    compadd -- $flags\n"
      "  elif [[ -z $noun ]]; then\n"
      "    _describe 'command' nouns\n"
      "  elif (( ${#verbs} )) && [[ ${words[CURRENT-1]} == $noun ]]; then\n"
      "    _describe 'verb' verbs\n"
      "  else\n"
      "    _files\n"
      "  fi\n"
      "}\n"
      "_l4d2ctl \"$@\"\n");
}

}  // namespace l4d2::ctl
