#include "ctl/command_table.h"

#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"

namespace l4d2::ctl {
namespace {

// Flags every command understands.
const std::vector<std::string>& GlobalFlags() {
  static const auto* flags =
      new std::vector<std::string>{"agent",   "controller",   "token_file", "config", "json",
                                   "timeout", "operation_id", "help",       "version"};
  return *flags;
}

const std::vector<std::string> kOverlaySources = {
    "dir",      "url",         "sha256", "destination",    "strip",
    "workshop", "collections", "script", "script_timeout", "network"};

std::vector<std::string> With(std::vector<std::string> flags,
                              const std::vector<std::string>& more) {
  flags.insert(flags.end(), more.begin(), more.end());
  return flags;
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

const std::vector<CommandSpec>& Commands() {
  static const auto* commands = new std::vector<CommandSpec>{
      // Against an agent (--agent ADDRESS).
      {"host", "", "", "the host's facts (resources, installed build, ports, instances)"},
      {"health", "", "", "the agent's health check (exit 0 when SERVING)"},
      {"install",
       "",
       "",
       "install or update the game with steamcmd, following its progress",
       {"validate", "branch", "steam_account"}},
      {"check-update", "", "", "the installed build against the newest public build", {"branch"}},
      {"initialize",
       "",
       "NAME -f SPEC.yaml",
       "create an instance, or replace its spec",
       {"f", "file"}},
      {"start", "", "NAME", "start an instance"},
      {"stop", "", "NAME", "stop an instance"},
      {"restart", "", "NAME", "restart an instance"},
      {"reset", "", "NAME", "stop and wipe the writable layer; keeps the spec"},
      {"delete", "", "NAME", "delete an instance"},
      {"status", "", "NAME", "unit, game (A2S) and overlay state"},
      {"list", "", "", "every instance, and orphans"},
      {"console", "", "NAME COMMAND...", "a console command over RCON, with its output"},
      {"logs", "", "NAME", "the server's console (journald)", {"lines", "follow", "after_cursor"}},
      {"overlay", "sync", "REF SOURCE-FLAGS",
       "a new version of an overlay: --dir DIR | --url URL --sha256 HEX | --workshop ID,... | "
       "--script FILE",
       kOverlaySources},
      {"overlay", "list", "", "overlays, versions and the instances using them"},
      // Against the controller (--controller URL and an API token).
      {"login",
       "",
       "--username NAME",
       "sign in, save an API token and point the config at it",
       {"username", "token_name", "scopes"},
       true},
      {"servers",
       "list",
       "",
       "servers with desired and reported state, host, port, players",
       {},
       true},
      {"servers", "show", "NAME", "one server", {}, true},
      {"servers",
       "create",
       "NAME --blueprint NAME",
       "a server from a blueprint",
       {"blueprint", "stopped", "wait"},
       true},
      {"servers", "start", "NAME", "start a server (a job)", {"wait"}, true},
      {"servers", "stop", "NAME", "stop a server (a job)", {"wait"}, true},
      {"servers", "restart", "NAME", "restart a server (a job)", {"wait"}, true},
      {"servers", "reset", "NAME", "reset a server (a job)", {"wait"}, true},
      {"servers", "delete", "NAME", "delete a server and its instance (a job)", {"wait"}, true},
      {"servers", "console", "NAME COMMAND...", "a console command, audited", {}, true},
      {"servers",
       "logs",
       "NAME",
       "the newest log lines, or follow them",
       {"lines", "follow"},
       true},
      {"servers",
       "bulk",
       "ACTION (--host NAME | --blueprint NAME)",
       "one action over many servers, staggered",
       {"host", "blueprint", "stagger", "wait"},
       true},
      {"hosts", "list", "", "hosts with state, build and servers", {}, true},
      {"hosts",
       "create",
       "NAME --address HOST:PORT",
       "a host: prints its one-time enrollment token and command",
       {"address", "max_instances", "port_first", "port_last"},
       true},
      {"hosts", "show", "NAME", "one host", {}, true},
      {"hosts", "drain", "NAME", "place no new servers on the host", {}, true},
      {"hosts", "undrain", "NAME", "place servers on the host again", {}, true},
      {"hosts",
       "install",
       "NAME",
       "install or update the game on the host (a job)",
       {"validate", "branch"},
       true},
      {"hosts", "delete", "NAME", "forget a host without servers", {}, true},
      {"blueprints", "list", "", "blueprints", {}, true},
      {"blueprints",
       "apply",
       "-f FILE.yaml",
       "create or change a blueprint from YAML",
       {"f", "file"},
       true},
      {"blueprints", "export", "NAME", "a blueprint as YAML", {}, true},
      {"blueprints", "delete", "NAME", "delete a blueprint no server uses", {}, true},
      {"overlays", "list", "", "global overlays and one's own", {}, true},
      {"overlays", "apply", "REF SOURCE-FLAGS | -f FILE.yaml",
       "create or change an overlay from flags or YAML",
       With({"global", "f", "file"}, kOverlaySources), true},
      {"overlays", "export", "REF", "an overlay as YAML (files written to --dir)", {"dir"}, true},
      {"overlays", "sync", "REF", "sync the overlay to every ready host now (jobs)", {}, true},
      {"overlays", "delete", "REF", "delete an overlay no blueprint uses", {}, true},
      {"jobs", "list", "", "jobs, newest first", {"state"}, true},
      {"jobs", "show", "ID", "one job", {}, true},
      {"jobs", "watch", "ID", "follow a job's events to its end", {}, true},
      {"jobs", "cancel", "ID", "cancel a job", {}, true},
      {"tokens", "list", "", "API tokens", {}, true},
      {"tokens", "create", "NAME", "an API token; its secret is printed once", {"scopes"}, true},
      {"tokens", "revoke", "ID", "revoke an API token", {}, true},
      {"completion", "", "bash|zsh", "print the shell completion script"},
  };
  return *commands;
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
