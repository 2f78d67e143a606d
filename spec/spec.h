#pragma once

// An instance spec, checked and turned into what the server runs with: the launch arguments
// and server.cfg. Pure functions.
//
// Nothing a user writes can add a console command or a command-line argument:
//   - cvars and launch arguments come from allow-lists, each value checked against its type;
//   - text values (hostname, string cvars) exclude '"', ';', '\', control characters and line
//     breaks, the characters that end a value or start another command in the Source console;
//   - server.cfg quotes every value; arguments are single tokens.

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "l4d2/agent/v1/instance.pb.h"

namespace l4d2::spec {

namespace v1 = ::l4d2::agent::v1;

struct SpecLimits {
  int port_first = 27015;
  int port_last = 27999;
  int max_overlays = 16;
};

// Fills unset fields with their defaults (start map c1m1_hotel, 8 players, coop, hostname
// "left4me <name>", restart on failure after 5s, at most 5 restarts in 300s).
v1::InstanceSpec WithDefaults(const std::string& name, v1::InstanceSpec spec);

// INVALID_ARGUMENT naming the first offending field ("spec.cvars[2] 'sv_cheats': not allowed").
absl::Status ValidateSpec(const v1::InstanceSpec& spec, const SpecLimits& limits);

struct ServerCfgInput {
  std::string name;
  v1::InstanceSpec spec;  // Validated, with defaults.
  std::string rcon_password;
  // server_<x>.cfg files of the overlays whose exec_server_cfg is set, in spec order.
  std::vector<std::string> exec_files;
  // The agent's game log listener ("ip:port") and the instance's sv_logsecret (digits); empty:
  // the server sends no log stream.
  std::string log_address;
  std::string log_secret;
};

// The instance's cfg/server.cfg. The log stream's lines come last, after the overlays' files,
// so that nothing an operator or an overlay sets turns it off or points it elsewhere.
std::string RenderServerCfg(const ServerCfgInput& input);

// srcds_run's arguments (without the program), e.g. -game left4dead2 -port 27015 +ip 0.0.0.0
// -strictportbind -norestart -maxplayers 8 +map c1m1_hotel +servercfgfile server.cfg ...
std::vector<std::string> LaunchArguments(const v1::InstanceSpec& spec, const std::string& ip);

// The config file name an overlay's own server.cfg gets: server_<ref with '/' and '.' as '_'>.cfg.
std::string OverlayCfgName(const std::string& ref);

}  // namespace l4d2::spec
