#include "tests/fakes/srcds/srcds_options.h"

#include <cstdlib>

namespace l4d2::fakes {
namespace {

bool ParsePort(const std::string& text, int* port) {
  char* end = nullptr;
  long value = std::strtol(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || value < 1 || value > 65535) return false;
  *port = static_cast<int>(value);
  return true;
}

}  // namespace

bool ParseSrcdsArguments(const std::vector<std::string>& args, SrcdsOptions* options,
                         std::string* error) {
  auto value_of = [&](size_t* i, std::string* out) {
    if (*i + 1 >= args.size()) {
      *error = "missing value for " + args[*i];
      return false;
    }
    *out = args[++*i];
    return true;
  };
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    std::string value;
    if (arg == "-game") {
      if (!value_of(&i, &options->game)) return false;
    } else if (arg == "-port") {
      if (!value_of(&i, &value)) return false;
      if (!ParsePort(value, &options->port)) {
        *error = "bad -port '" + value + "'";
        return false;
      }
    } else if (arg == "-ip" || arg == "+ip") {
      if (!value_of(&i, &options->ip)) return false;
    } else if (arg == "-maxplayers" || arg == "+maxplayers") {
      if (!value_of(&i, &value)) return false;
      int players = std::atoi(value.c_str());
      if (players < 1 || players > 32) {
        *error = "bad maxplayers '" + value + "'";
        return false;
      }
      options->max_players = players;
    } else if (arg == "+servercfgfile") {
      if (!value_of(&i, &options->server_cfg_file)) return false;
    } else if (arg == "-pidfile") {
      if (!value_of(&i, &options->pid_file)) return false;
    } else if (arg == "-tickrate") {
      if (!value_of(&i, &options->tickrate)) return false;
    } else if (arg == "-norestart") {
      options->norestart = true;
    } else if (arg == "-strictportbind") {
      options->strict_port_bind = true;
    } else if (arg == "-insecure") {
      options->insecure = true;
    } else if (!arg.empty() && arg[0] == '+') {
      std::vector<std::string> command{arg.substr(1)};
      while (i + 1 < args.size() && !args[i + 1].empty() && args[i + 1][0] != '+' &&
             args[i + 1][0] != '-') {
        command.push_back(args[++i]);
      }
      options->startup_commands.push_back(std::move(command));
    } else {
      options->ignored.push_back(arg);
    }
  }
  return true;
}

std::vector<std::vector<std::string>> SplitConsoleLine(const std::string& line) {
  std::vector<std::vector<std::string>> commands;
  std::vector<std::string> words;
  std::string word;
  bool in_word = false;
  bool quoted = false;
  auto end_word = [&] {
    if (in_word) words.push_back(word);
    word.clear();
    in_word = false;
  };
  auto end_command = [&] {
    end_word();
    if (!words.empty()) commands.push_back(words);
    words.clear();
  };
  for (size_t i = 0; i < line.size(); ++i) {
    char c = line[i];
    if (quoted) {
      if (c == '"') {
        quoted = false;
        end_word();
      } else {
        word.push_back(c);
      }
      continue;
    }
    if (c == '"') {
      end_word();
      quoted = true;
      in_word = true;
    } else if (c == ';' || c == '\n' || c == '\r') {
      end_command();
    } else if (c == '/' && i + 1 < line.size() && line[i + 1] == '/') {
      break;
    } else if (c == ' ' || c == '\t') {
      end_word();
    } else {
      word.push_back(c);
      in_word = true;
    }
  }
  end_command();
  return commands;
}

}  // namespace l4d2::fakes
