#pragma once

// What every l4d2ctl command runs with: the connection (an agent's channel or the controller's
// client), how to print, and the options of each command, one struct per command, filled from
// the flags by main.cc. A command is a CommandHandler in the command table (command_table.h);
// it reads only the context's common fields and its own options.
//
// Exit codes are exit_codes.h's. Output goes to `out`, errors to `err`, so tests can run
// commands in-process.

#include <cstdint>
#include <iosfwd>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "grpcpp/channel.h"

namespace l4d2::ctl {

class ControllerClient;

// install (agent), hosts install (controller).
struct InstallOptions {
  bool validate = false;       // steamcmd verifies every file
  std::string branch;          // Steam beta branch ("" public); also check-update's
  bool steam_account = false;  // the host's Steam account (agent only)
};

// logs (agent), servers logs (controller).
struct LogsOptions {
  int lines = 200;  // the newest lines first
  bool follow = false;
  std::string after_cursor;  // resume after it (agent only)
};

// An overlay's content: overlay sync (agent), overlays apply (controller). Exactly one source.
struct OverlaySourceOptions {
  std::string dir;  // every regular file below it, as inline files (also overlays export's)
  std::string url;  // an archive, with its sha256
  std::string sha256;
  std::string destination;
  int strip_components = 0;
  std::vector<uint64_t> workshop_items;
  std::vector<uint64_t> workshop_collections;
  std::string script;                                    // a script file run in the agent's sandbox
  absl::Duration script_timeout = absl::ZeroDuration();  // zero: the agent's default
  bool network = false;

  // How many sources were given (commands that sync want exactly one).
  int Count() const {
    return !dir.empty() + !url.empty() + !script.empty() +
           (!workshop_items.empty() || !workshop_collections.empty());
  }
};

struct ServerCreateOptions {
  std::string blueprint;  // a blueprint's name or id (required)
  bool stopped = false;   // create it without starting it
};

struct ServersBulkOptions {
  std::string host;       // the servers of a host (name or id), or
  std::string blueprint;  // of a blueprint
  absl::Duration stagger = absl::ZeroDuration();
};

struct HostCreateOptions {
  std::string address;    // the agent's host:port (required)
  int max_instances = 0;  // 0: the controller's defaults
  int port_first = 0;
  int port_last = 0;
};

struct JobsListOptions {
  std::string state;  // "" any
};

struct TokenCreateOptions {
  std::vector<std::string> scopes;  // empty: the controller's default
};

struct AlertCreateOptions {
  std::string url;                  // the webhook's URL (required)
  std::vector<std::string> events;  // at least one (required)
  std::string format;               // "json" (default) or "discord"
};

// updates policy: only the flags given change the policy.
struct UpdatePolicyOptions {
  std::string mode;                     // off, notify or rolling
  std::string deadline;                 // a duration ("0s": never forced)
  std::string warning_lead;             // a duration
  std::string warning;                  // the console command ("none": no warning)
  int max_parallel = 0;                 // 0: unchanged
  std::vector<std::string> host_modes;  // HOST=MODE ("fleet": back to the fleet's)
};

// servers backup: the retention (0 / empty: the controller's config).
struct BackupOptions {
  int keep = 0;
  std::string keep_for;  // a duration
};

struct OverlayApplyOptions {
  bool global = false;  // a global overlay, for everyone (admins)
};

// login: where the controller is, who signs in, where the token goes.
struct LoginOptions {
  std::string url;                  // the controller
  std::string username;             // required; the password is typed or $L4D2_PASSWORD
  std::string token_name;           // shown in `tokens list`
  std::vector<std::string> scopes;  // empty: read and write
  std::string token_file;           // written with mode 0600
  std::string config_file;          // rewritten: `controller:` and `token_file:`
};

struct CommandOptions {
  std::string file;  // -f/--file: initialize's spec, blueprints apply, overlays apply
  InstallOptions install;
  LogsOptions logs;
  OverlaySourceOptions overlay_source;
  OverlayApplyOptions overlay_apply;
  ServerCreateOptions server_create;
  ServersBulkOptions servers_bulk;
  HostCreateOptions host_create;
  JobsListOptions jobs_list;
  TokenCreateOptions token_create;
  AlertCreateOptions alert_create;
  UpdatePolicyOptions update_policy;
  BackupOptions backup;
  LoginOptions login;
};

struct CommandContext {
  // Agent commands: the agent's channel.
  std::shared_ptr<grpc::Channel> channel;
  // Controller commands: the API client (null when no controller was named).
  ControllerClient* controller = nullptr;
  bool json = false;
  // Deadline of unary calls; long operations (install) are bounded by the agent instead.
  absl::Duration timeout = absl::Seconds(30);
  std::ostream* out;
  std::ostream* err;
  // Whether `out` is a terminal: progress bars instead of plain lines.
  bool terminal = false;
  // The operation id of mutating agent commands; a retry with the same id re-attaches to (or
  // returns) the first run instead of starting another.
  std::string operation_id;
  // Controller commands that queue jobs: follow them to their end (exit 1 unless they succeed).
  bool wait = false;
  CommandOptions options;
};

// One command as typed: its noun, its verb ("" for an agent verb, which is its noun) and the
// positional arguments after them.
struct Invocation {
  std::string noun;
  std::string verb;
  std::vector<std::string> args;
};

using CommandHandler = int (*)(const CommandContext& context, const Invocation& invocation);

}  // namespace l4d2::ctl
