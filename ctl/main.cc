// l4d2ctl: the command line for operators and CI. See docs/l4d2ctl.md.

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/file_util.h"
#include "common/program_usage.h"
#include "common/version.h"
#include "common/yaml_document.h"
#include "ctl/agent_channel.h"
#include "ctl/command_table.h"
#include "ctl/controller_client.h"

ABSL_FLAG(std::string, agent, "",
          "agent address: unix:/path/agent.sock, /path/agent.sock or host:port (default "
          "$L4D2_AGENT, else unix:/run/left4me/agent.sock)");
ABSL_FLAG(bool, json, false, "print data as JSON (protobuf JSON mapping)");
ABSL_FLAG(absl::Duration, timeout, absl::Seconds(30), "deadline of each call");
ABSL_FLAG(std::string, operation_id, "",
          "id of a mutating command (default: a fresh one); repeat it to re-attach to, or get the "
          "outcome of, an earlier run instead of starting another");
ABSL_FLAG(bool, validate, false, "install: have steamcmd verify every file");
ABSL_FLAG(std::string, branch, "", "install, check-update: Steam beta branch (default public)");
ABSL_FLAG(bool, steam_account, false,
          "install: log in with the Steam account configured on the host");
ABSL_FLAG(std::string, f, "", "initialize: the instance spec file (YAML, docs/instance-spec.md)");
ABSL_FLAG(std::string, file, "", "same as -f");
ABSL_FLAG(int, lines, 200, "logs: how many of the newest lines (at most 10000)");
ABSL_FLAG(bool, follow, false, "logs: keep following new lines (--no-follow: stop after them)");
ABSL_FLAG(std::string, after_cursor, "", "logs: resume after this cursor (from --json output)");
ABSL_FLAG(std::string, dir, "", "overlay sync: the directory whose files become the new version");
ABSL_FLAG(std::string, url, "", "overlay sync: an archive (tar.gz or zip) to fetch, with --sha256");
ABSL_FLAG(std::string, sha256, "",
          "overlay sync: the archive's SHA-256 (hex); required with --url");
ABSL_FLAG(std::string, destination, "", "overlay sync: directory inside the layer to extract to");
ABSL_FLAG(int, strip, 0, "overlay sync: leading path components to drop from archive entries");
ABSL_FLAG(std::vector<std::string>, workshop, {},
          "overlay sync: Steam Workshop item ids (comma separated), downloaded as .vpk addons");
ABSL_FLAG(std::vector<std::string>, collections, {},
          "overlay sync: Steam Workshop collection ids, expanded to their items");
ABSL_FLAG(std::string, script, "",
          "overlay sync: a shell script run on the host in a sandbox; it writes the new version "
          "into its working directory");
ABSL_FLAG(absl::Duration, script_timeout, absl::ZeroDuration(),
          "overlay sync: kill the script after this long (default: the agent's, 10m)");
ABSL_FLAG(bool, network, false, "overlay sync: let the script reach the network");
ABSL_FLAG(bool, version, false, "print the version and exit");
ABSL_FLAG(
    std::string, controller, "",
    "controller URL for servers/hosts/blueprints/schedules/overlays/jobs/tokens commands (default "
    "$L4D2_CONTROLLER, else the config file's `controller`)");
ABSL_FLAG(std::string, token_file, "",
          "a file holding the API token (default: $L4D2_TOKEN, else the config file's "
          "`token_file`); tokens are never taken on the command line");
ABSL_FLAG(std::string, config, "",
          "l4d2ctl's config file (default $XDG_CONFIG_HOME/l4d2ctl/config.yaml or "
          "~/.config/l4d2ctl/config.yaml): `controller: URL`, `token_file: PATH`");
ABSL_FLAG(std::string, blueprint, "", "servers create, servers bulk: a blueprint's name");
ABSL_FLAG(std::string, host, "", "servers bulk: a host's name");
ABSL_FLAG(std::string, address, "", "hosts create: the agent's gRPC address host:port");
ABSL_FLAG(int, max_instances, 0, "hosts create: most servers on the host (default 50)");
ABSL_FLAG(int, port_first, 0, "hosts create: first game port (default 27015)");
ABSL_FLAG(int, port_last, 0, "hosts create: last game port (default 27999)");
ABSL_FLAG(std::string, state, "", "jobs list: only jobs in this state");
ABSL_FLAG(absl::Duration, stagger, absl::ZeroDuration(),
          "servers bulk: delay between one server's job and the next's");
ABSL_FLAG(std::vector<std::string>, scopes, {}, "tokens create: read and/or write");
ABSL_FLAG(std::vector<std::string>, events, {},
          "alerts create: the events, e.g. server.crash_loop,host.unreachable");
ABSL_FLAG(std::string, format, "json", "alerts create: json (signed) or discord");
ABSL_FLAG(bool, stopped, false, "servers create: create it stopped");
ABSL_FLAG(std::string, mode, "", "updates policy: off, notify or rolling");
ABSL_FLAG(std::string, deadline, "",
          "updates policy: restart servers with players this long after an update began (0s: "
          "never)");
ABSL_FLAG(std::string, warning_lead, "", "updates policy: warn the players this long before");
ABSL_FLAG(std::string, warning, "",
          "updates policy: the console command that warns them (%s: the time left; none: no "
          "warning)");
ABSL_FLAG(int, max_parallel, 0, "updates policy: servers restarting at once, fleet-wide");
ABSL_FLAG(std::vector<std::string>, host_modes, {},
          "updates policy: HOST=MODE for hosts not on the fleet's mode (MODE fleet: back to it)");
ABSL_FLAG(int, keep, 0,
          "servers backup: keep at most this many of the server's backups (default: the "
          "controller's backups.keep)");
ABSL_FLAG(std::string, keep_for, "",
          "servers backup: remove the server's backups older than this, e.g. 720h (default: the "
          "controller's backups.keep_for)");
ABSL_FLAG(bool, wait, false,
          "follow the queued job to its end, exit 1 unless it succeeds; hosts create: return "
          "once the host has joined");
ABSL_FLAG(bool, global, false, "overlays apply: a global overlay, for everyone (admins)");
ABSL_FLAG(std::string, username, "",
          "login: the user to sign in as (the password: typed, or $L4D2_PASSWORD)");
ABSL_FLAG(std::string, token_name, "",
          "login: the new API token's name (default l4d2ctl@HOSTNAME)");

namespace {

using l4d2::ctl::CommandContext;

// `l4d2ctl NOUN --help` (or -h): that noun's commands, from the command table (Abseil's --help
// would print the whole program's). Whether it printed.
bool PrintNounHelp(int argc, char** argv) {
  std::string noun;
  bool help = false;
  for (int i = 1; i < argc; ++i) {
    const std::string argument = argv[i];
    if (argument == "--help" || argument == "-h") help = true;
    if (noun.empty() && !argument.empty() && argument[0] != '-' &&
        l4d2::ctl::IsKnownNoun(argument)) {
      noun = argument;
    }
  }
  if (!help || noun.empty()) return false;
  std::cout << l4d2::ctl::NounHelp(noun);
  return true;
}

// A list of Workshop ids; INVALID_ARGUMENT for one that is not a number.
absl::StatusOr<std::vector<uint64_t>> WorkshopIds(const std::vector<std::string>& flag) {
  std::vector<uint64_t> ids;
  for (const std::string& text : flag) {
    uint64_t id = 0;
    if (!absl::SimpleAtoi(text, &id)) {
      return absl::InvalidArgumentError(absl::StrCat("'", text, "' is not a Workshop id"));
    }
    ids.push_back(id);
  }
  return ids;
}

// Each command's options from the flags.
absl::StatusOr<l4d2::ctl::CommandOptions> OptionsFromFlags() {
  l4d2::ctl::CommandOptions options{
      .file = !absl::GetFlag(FLAGS_f).empty() ? absl::GetFlag(FLAGS_f) : absl::GetFlag(FLAGS_file),
      .install = {.validate = absl::GetFlag(FLAGS_validate),
                  .branch = absl::GetFlag(FLAGS_branch),
                  .steam_account = absl::GetFlag(FLAGS_steam_account)},
      .logs = {.lines = absl::GetFlag(FLAGS_lines),
               .follow = absl::GetFlag(FLAGS_follow),
               .after_cursor = absl::GetFlag(FLAGS_after_cursor)},
      .overlay_source = {.dir = absl::GetFlag(FLAGS_dir),
                         .url = absl::GetFlag(FLAGS_url),
                         .sha256 = absl::GetFlag(FLAGS_sha256),
                         .destination = absl::GetFlag(FLAGS_destination),
                         .strip_components = absl::GetFlag(FLAGS_strip),
                         .script = absl::GetFlag(FLAGS_script),
                         .script_timeout = absl::GetFlag(FLAGS_script_timeout),
                         .network = absl::GetFlag(FLAGS_network)},
      .overlay_apply = {.global = absl::GetFlag(FLAGS_global)},
      .server_create = {.blueprint = absl::GetFlag(FLAGS_blueprint),
                        .stopped = absl::GetFlag(FLAGS_stopped)},
      .servers_bulk = {.host = absl::GetFlag(FLAGS_host),
                       .blueprint = absl::GetFlag(FLAGS_blueprint),
                       .stagger = absl::GetFlag(FLAGS_stagger)},
      .host_create = {.address = absl::GetFlag(FLAGS_address),
                      .max_instances = absl::GetFlag(FLAGS_max_instances),
                      .port_first = absl::GetFlag(FLAGS_port_first),
                      .port_last = absl::GetFlag(FLAGS_port_last)},
      .jobs_list = {.state = absl::GetFlag(FLAGS_state)},
      .token_create = {.scopes = absl::GetFlag(FLAGS_scopes)},
      .alert_create = {.url = absl::GetFlag(FLAGS_url),
                       .events = absl::GetFlag(FLAGS_events),
                       .format = absl::GetFlag(FLAGS_format)},
      .update_policy = {.mode = absl::GetFlag(FLAGS_mode),
                        .deadline = absl::GetFlag(FLAGS_deadline),
                        .warning_lead = absl::GetFlag(FLAGS_warning_lead),
                        .warning = absl::GetFlag(FLAGS_warning),
                        .max_parallel = absl::GetFlag(FLAGS_max_parallel),
                        .host_modes = absl::GetFlag(FLAGS_host_modes)},
      .backup = {.keep = absl::GetFlag(FLAGS_keep), .keep_for = absl::GetFlag(FLAGS_keep_for)}};
  absl::StatusOr<std::vector<uint64_t>> items = WorkshopIds(absl::GetFlag(FLAGS_workshop));
  if (!items.ok()) return items.status();
  absl::StatusOr<std::vector<uint64_t>> collections = WorkshopIds(absl::GetFlag(FLAGS_collections));
  if (!collections.ok()) return collections.status();
  options.overlay_source.workshop_items = *std::move(items);
  options.overlay_source.workshop_collections = *std::move(collections);
  return options;
}

// The common flags; the channel to the agent (made lazily by gRPC: nothing connects yet).
CommandContext ContextFromFlags(l4d2::ctl::CommandOptions options) {
  std::string address = absl::GetFlag(FLAGS_agent);
  if (address.empty()) {
    const char* env = std::getenv("L4D2_AGENT");
    address = env != nullptr && *env != '\0' ? env : "unix:/run/left4me/agent.sock";
  }
  return CommandContext{.channel = l4d2::ctl::MakeAgentChannel(address),
                        .json = absl::GetFlag(FLAGS_json),
                        .timeout = absl::GetFlag(FLAGS_timeout),
                        .out = &std::cout,
                        .err = &std::cerr,
                        .terminal = isatty(STDOUT_FILENO) == 1,
                        .operation_id = absl::GetFlag(FLAGS_operation_id),
                        .wait = absl::GetFlag(FLAGS_wait),
                        .options = std::move(options)};
}

// Where the controller is and how to prove who we are: flags, then the environment, then the
// config file. For login, `token_file` is where the new token goes.
struct ControllerSettings {
  std::string config_path;
  std::string url;
  std::string token_file;
  std::string token;  // from $L4D2_TOKEN, or read from token_file
};

absl::StatusOr<ControllerSettings> ResolveController(bool login) {
  ControllerSettings settings{.config_path = absl::GetFlag(FLAGS_config),
                              .url = absl::GetFlag(FLAGS_controller),
                              .token_file = absl::GetFlag(FLAGS_token_file)};
  std::string& config_path = settings.config_path;
  if (config_path.empty()) {
    const char* xdg = std::getenv("XDG_CONFIG_HOME");
    const char* home = std::getenv("HOME");
    if (xdg != nullptr && *xdg != '\0') {
      config_path = std::string(xdg) + "/l4d2ctl/config.yaml";
    } else if (home != nullptr) {
      config_path = std::string(home) + "/.config/l4d2ctl/config.yaml";
    }
  }
  if (settings.url.empty() && std::getenv("L4D2_CONTROLLER") != nullptr) {
    settings.url = std::getenv("L4D2_CONTROLLER");
  }
  if (settings.token_file.empty() && std::getenv("L4D2_TOKEN") != nullptr) {
    settings.token = std::getenv("L4D2_TOKEN");
  }
  const bool need_token = !login && settings.token_file.empty() && settings.token.empty();
  if ((settings.url.empty() || need_token) && !config_path.empty() &&
      (!absl::GetFlag(FLAGS_config).empty() || access(config_path.c_str(), R_OK) == 0)) {
    absl::StatusOr<YAML::Node> document = l4d2::LoadYamlFile(config_path);
    if (!document.ok()) return document.status();
    l4d2::YamlMapReader config(*document, "");
    std::string config_url, config_token_file;
    config.String("controller", &config_url);
    config.String("token_file", &config_token_file);
    if (absl::Status valid = config.Finish(); !valid.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("config '", config_path, "': ", valid.message()));
    }
    if (settings.url.empty()) settings.url = config_url;
    if (need_token) settings.token_file = config_token_file;
  }
  if (login) {
    // The new token goes beside the config file unless --token_file says where.
    if (settings.token_file.empty() && !config_path.empty()) {
      settings.token_file = std::filesystem::path(config_path).replace_filename("token").string();
    }
    return settings;
  }
  if (!settings.token_file.empty()) {
    absl::StatusOr<std::string> text = l4d2::ReadFileToString(settings.token_file, 4096);
    if (!text.ok()) return text.status();
    settings.token = std::string(absl::StripAsciiWhitespace(*text));
  }
  return settings;
}

// login's options: the controller, the user, and where the new token goes.
l4d2::ctl::LoginOptions LoginOptionsFor(const ControllerSettings& settings) {
  std::string token_name = absl::GetFlag(FLAGS_token_name);
  if (token_name.empty()) {
    char hostname[256] = {};
    gethostname(hostname, sizeof(hostname) - 1);
    token_name = absl::StrCat("l4d2ctl@", hostname);
  }
  return {.url = settings.url,
          .username = absl::GetFlag(FLAGS_username),
          .token_name = token_name,
          .scopes = absl::GetFlag(FLAGS_scopes),
          .token_file = settings.token_file,
          .config_file = settings.config_path};
}

}  // namespace

int main(int argc, char** argv) {
  l4d2::SetProgramUsage(l4d2::ctl::ProgramHelp());
  if (PrintNounHelp(argc, argv)) return 0;
  // The original contract spells it --no-follow; absl's spelling is --nofollow.
  std::vector<char*> arguments(argv, argv + argc);
  static char kNoFollow[] = "--nofollow";
  for (char*& argument : arguments) {
    if (std::string(argument) == "--no-follow") argument = kNoFollow;
  }
  std::vector<char*> positional =
      l4d2::ParseProgramCommandLine(static_cast<int>(arguments.size()), arguments.data());
  if (absl::GetFlag(FLAGS_version)) {
    std::cout << "l4d2ctl " << l4d2::kVersion << "\n";
    return 0;
  }
  absl::StatusOr<l4d2::ctl::CommandOptions> options = OptionsFromFlags();
  if (!options.ok()) {
    std::cerr << "l4d2ctl: " << options.status().message() << "\n";
    return 2;
  }
  CommandContext context = ContextFromFlags(*std::move(options));
  const std::vector<std::string> words(positional.begin() + 1, positional.end());
  std::unique_ptr<l4d2::ctl::ControllerClient> controller;
  if (!words.empty() && l4d2::ctl::IsControllerNoun(words[0])) {
    const bool login = words[0] == "login";
    absl::StatusOr<ControllerSettings> settings = ResolveController(login);
    if (!settings.ok()) {
      std::cerr << "l4d2ctl: " << settings.status().message() << "\n";
      return 2;
    }
    if (login) {
      context.options.login = LoginOptionsFor(*settings);
    } else if (!settings->url.empty()) {
      controller = std::make_unique<l4d2::ctl::ControllerClient>(l4d2::ctl::ControllerEndpoint{
          .url = settings->url, .token = settings->token, .timeout = context.timeout});
      context.controller = controller.get();
    }
  }
  return l4d2::ctl::RunCommand(context, words);
}
