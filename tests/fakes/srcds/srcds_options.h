#pragma once

// Command line and console-script parsing of the fake srcds, kept pure so tests can check them.
// The syntax follows the real Source dedicated server:
//   srcds_linux -game left4dead2 -port 27015 +ip 0.0.0.0 +map c1m1_hotel -maxplayers 8
//               +servercfgfile server.cfg -norestart -strictportbind [+cvar value ...]
// '-' arguments are engine switches (some take a value); '+' arguments are console commands
// run at start, each with the words up to the next '-' or '+' argument as its arguments.

#include <map>
#include <string>
#include <vector>

namespace l4d2::fakes {

struct SrcdsOptions {
  std::string game = "left4dead2";
  int port = 27015;
  std::string ip = "0.0.0.0";
  int max_players = 8;
  bool norestart = false;
  bool strict_port_bind = false;
  std::string pid_file;
  bool insecure = false;
  std::string tickrate;
  std::string server_cfg_file = "server.cfg";
  // '+' commands other than +ip/+maxplayers/+servercfgfile, in order (e.g. "map c1m1_hotel").
  std::vector<std::vector<std::string>> startup_commands;
  // Switches the fake does not know; the real server ignores them, so does the fake.
  std::vector<std::string> ignored;
};

// Parses argv[1..]. Returns false with `error` set for malformed values (e.g. "-port abc").
bool ParseSrcdsArguments(const std::vector<std::string>& args, SrcdsOptions* options,
                         std::string* error);

// Splits one console line into commands the way the Source console does: ';' separates
// commands outside double quotes, "//" starts a comment outside quotes, and each command is
// split into words (a quoted string is one word, without its quotes).
std::vector<std::vector<std::string>> SplitConsoleLine(const std::string& line);

}  // namespace l4d2::fakes
