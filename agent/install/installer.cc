#include "agent/install/installer.h"

#include <signal.h>
#include <unistd.h>

#include <filesystem>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "agent/steam/keyvalues.h"
#include "agent/steam/steamcmd_output.h"
#include "common/crash_points.h"
#include "common/file_util.h"
#include "common/logging.h"
#include "common/status_macros.h"

namespace l4d2::agent {
namespace {

namespace fs = std::filesystem;

// steamcmd errors worth a retry; anything else is permanent until a person acts.
bool TransientSteamError(absl::string_view message) {
  for (absl::string_view marker :
       {"Timeout", "No Connection", "Rate Limit", "Service Unavailable", "Network", "busy"}) {
    if (absl::StrContains(message, marker)) return true;
  }
  return false;
}

// Operation ids may hold ':' and '.', fine in file names; anything else is replaced.
std::string SafeFileName(absl::string_view id) {
  std::string out;
  for (char c : id) {
    out.push_back(absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' ? c
                                                                                             : '_');
  }
  return out.substr(0, 100);
}

bool ValidBranch(const std::string& branch) {
  if (branch.size() > 64) return false;
  for (char c : branch) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-' && c != '.') {
      return false;
    }
  }
  return branch.empty() || branch[0] != '-';
}

absl::StatusOr<std::string> ManifestBuild(const std::string& install_dir) {
  L4D2_ASSIGN_OR_RETURN(
      std::string text,
      ReadFileToString(absl::StrCat(install_dir, "/steamapps/appmanifest_", kSteamAppId, ".acf"),
                       1 << 20));
  return ParseAppManifestBuildId(text);
}

v1::InstallEvent ProgressEvent(absl::string_view phase, double percent, uint64_t done,
                               uint64_t total, absl::string_view message) {
  v1::InstallEvent event;
  v1::Progress* progress = event.mutable_progress();
  progress->set_phase(std::string(phase));
  progress->set_percent(percent);
  progress->set_bytes_done(done);
  progress->set_bytes_total(total);
  progress->set_message(std::string(message));
  return event;
}

}  // namespace

Installer::Installer(HostLayout layout, ProcessRunner& runner, Clock& clock,
                     InstallerOptions options)
    : layout_(std::move(layout)), runner_(runner), clock_(clock), options_(std::move(options)) {}

std::string Installer::CurrentDirectory() const {
  std::error_code error;
  fs::path target = fs::read_symlink(layout_.current_installation(), error);
  return error ? "" : target.filename().string();
}

std::string Installer::InstalledBuild() const {
  absl::StatusOr<std::string> build = ManifestBuild(layout_.current_installation());
  return build.ok() ? *build : "";
}

absl::Status Installer::RunPass(const std::vector<std::string>& args,
                                const InstallEventSink& sink) {
  ProcessOptions process{.argv = {options_.steamcmd}, .env = options_.env};
  process.argv.insert(process.argv.end(), args.begin(), args.end());
  L4D2_ASSIGN_OR_RETURN(std::unique_ptr<RunningProcess> steamcmd, runner_.Start(process));
  std::string error;
  bool success = false;
  while (true) {
    absl::StatusOr<std::string> line =
        steamcmd->ReadLine(clock_.Now() + options_.no_progress_timeout);
    if (absl::IsOutOfRange(line.status())) break;
    if (absl::IsDeadlineExceeded(line.status())) {
      steamcmd->Signal(SIGKILL);
      (void)steamcmd->Wait(clock_.Now() + absl::Seconds(10));
      return absl::UnavailableError(absl::StrCat("steamcmd made no progress for ",
                                                 absl::FormatDuration(options_.no_progress_timeout),
                                                 " and was stopped"));
    }
    L4D2_RETURN_IF_ERROR(line.status());
    SteamcmdLine parsed = ParseSteamcmdLine(*line);
    switch (parsed.kind) {
      case SteamcmdLine::Kind::kProgress:
        sink(ProgressEvent(parsed.phase, parsed.percent, parsed.bytes_done, parsed.bytes_total,
                           absl::StrCat("Update state (", parsed.state, ") ", parsed.phase)));
        break;
      case SteamcmdLine::Kind::kSuccess:
        success = true;
        break;
      case SteamcmdLine::Kind::kError:
        if (error.empty()) error = parsed.message;
        break;
      case SteamcmdLine::Kind::kOther:
        break;
    }
    if (parsed.kind != SteamcmdLine::Kind::kProgress) {
      v1::InstallEvent event;
      event.set_log_line(*line);
      sink(event);
    }
  }
  L4D2_ASSIGN_OR_RETURN(ExitStatus exit, steamcmd->Wait(clock_.Now() + absl::Seconds(30)));
  if (!error.empty()) {
    std::string message = absl::StrCat("steamcmd: ", error);
    return TransientSteamError(error) ? absl::UnavailableError(message)
                                      : absl::FailedPreconditionError(message);
  }
  if (!success) {
    return absl::UnavailableError(absl::StrCat("steamcmd ended without reporting success (",
                                               exit.ToString(), "); output truncated?"));
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::InstallResult> Installer::Install(const v1::InstallRequest& request,
                                                     const std::string& operation_id,
                                                     const std::set<std::string>& pinned,
                                                     const InstallEventSink& sink) {
  if (!ValidBranch(request.branch())) {
    return absl::InvalidArgumentError(absl::StrCat("invalid branch '", request.branch(), "'"));
  }
  std::string user;
  std::string password;
  if (request.use_steam_account()) {
    if (options_.account_file.empty()) {
      return absl::InvalidArgumentError("no Steam account is configured on this host");
    }
    L4D2_ASSIGN_OR_RETURN(std::string account, ReadFileToString(options_.account_file, 4096));
    std::vector<std::string> lines = absl::StrSplit(account, '\n', absl::SkipWhitespace());
    if (lines.size() < 2) {
      return absl::InvalidArgumentError(absl::StrCat("account file '", options_.account_file,
                                                     "' must hold a user and a password line"));
    }
    user = std::string(absl::StripAsciiWhitespace(lines[0]));
    password = std::string(absl::StripAsciiWhitespace(lines[1]));
  }

  const std::string staging =
      absl::StrCat(layout_.installation_dir(), "/.staging-", SafeFileName(operation_id));
  std::error_code error;
  fs::remove_all(staging, error);  // A crashed attempt of this operation starts afresh.
  const std::string current_dir = CurrentDirectory();
  const std::string previous_build = InstalledBuild();
  if (!current_dir.empty()) {
    sink(ProgressEvent("copying", -1, 0, 0, "seeding the new build from the current one"));
    absl::StatusOr<ProcessResult> copied =
        RunProcess(runner_,
                   {.argv = {"/bin/cp", "-a", "--reflink=auto",
                             absl::StrCat(layout_.installation_dir(), "/", current_dir), staging}},
                   absl::Hours(2));
    if (!copied.ok() || !copied->exit.success()) {
      fs::remove_all(staging, error);
      return absl::UnavailableError(
          absl::StrCat("failed to copy the current build: ",
                       copied.ok() ? copied->output : std::string(copied.status().message())));
    }
  } else if (!fs::create_directories(staging, error) && error) {
    return ErrnoError(error.value(), "create", staging);
  }
  auto fail = [&](absl::Status status) {
    fs::remove_all(staging, error);
    return status;
  };

  std::vector<std::string> update = {"+app_update", kSteamAppId};
  if (!request.branch().empty()) {
    update.push_back("-beta");
    update.push_back(request.branch());
  }
  std::vector<std::string> prologue = {"+@ShutdownOnFailedCommand", "1", "+@NoPromptForPassword",
                                       "1"};
  if (request.use_steam_account()) {
    // Credentials travel in a file only the agent can read, never on a command line.
    const std::string script =
        absl::StrCat(layout_.tmp_dir(), "/steamcmd-", SafeFileName(operation_id), ".txt");
    std::string text =
        absl::StrCat("@ShutdownOnFailedCommand 1\n@NoPromptForPassword 1\n", "force_install_dir ",
                     staging, "\nlogin ", user, " ", password, "\n");
    for (size_t i = 0; i < update.size(); ++i) {
      absl::StrAppend(&text, i == 0 ? update[i].substr(1) : update[i], " ");
    }
    absl::StrAppend(&text, request.validate() ? "validate" : "", "\nquit\n");
    L4D2_RETURN_IF_ERROR(fail(WriteFileAtomically(script, text, 0600)));
    absl::Status pass = RunPass({"+runscript", script}, sink);
    ::unlink(script.c_str());
    if (!pass.ok()) return fail(pass);
  } else {
    const bool fresh = !ManifestBuild(staging).ok();
    if (fresh) {
      // Since late 2024 an anonymous Linux install into an empty directory fails with
      // "Invalid platform"; a windows pass first, then linux with validate, works.
      std::vector<std::string> args = prologue;
      args.insert(args.end(), {"+@sSteamCmdForcePlatformType", "windows", "+force_install_dir",
                               staging, "+login", "anonymous"});
      args.insert(args.end(), update.begin(), update.end());
      args.push_back("+quit");
      sink(ProgressEvent("installing", -1, 0, 0, "first pass (platform workaround)"));
      absl::Status pass = RunPass(args, sink);
      if (!pass.ok()) return fail(pass);
    }
    std::vector<std::string> args = prologue;
    args.insert(args.end(), {"+@sSteamCmdForcePlatformType", "linux", "+force_install_dir", staging,
                             "+login", "anonymous"});
    args.insert(args.end(), update.begin(), update.end());
    if (fresh || request.validate()) args.push_back("validate");
    args.push_back("+quit");
    absl::Status pass = RunPass(args, sink);
    if (!pass.ok()) return fail(pass);
  }

  absl::StatusOr<std::string> build = ManifestBuild(staging);
  if (!build.ok()) {
    return fail(absl::UnavailableError(
        absl::StrCat("steamcmd reported success but left no readable app manifest: ",
                     build.status().message())));
  }
  v1::InstallResult result;
  result.set_build_id(*build);
  if (*build == previous_build && !request.validate()) {
    fs::remove_all(staging, error);
    result.set_changed(false);
  } else {
    // A fresh directory name: a build directory may be mounted by running instances.
    std::string name = *build;
    for (int k = 2; fs::exists(absl::StrCat(layout_.installation_dir(), "/", name)); ++k) {
      name = absl::StrCat(*build, ".", k);
    }
    const std::string target = absl::StrCat(layout_.installation_dir(), "/", name);
    fs::rename(staging, target, error);
    if (error) return fail(ErrnoError(error.value(), "rename the new build to", target));
    CrashPoint("install.before_switch");
    sink(ProgressEvent("switching", 100, 0, 0, absl::StrCat("current -> ", name)));
    L4D2_RETURN_IF_ERROR(SwitchCurrent(name));
    result.set_changed(*build != previous_build);
  }
  absl::Status linked = LinkSteamClient();
  if (!linked.ok()) L4D2_LOG(WARNING) << "install: " << linked.message();
  for (const std::string& removed : RemoveUnused(pinned)) result.add_removed_build_ids(removed);
  return result;
}

absl::Status Installer::SwitchCurrent(const std::string& directory) {
  const std::string link = layout_.current_installation();
  const std::string temp = absl::StrCat(link, ".tmp");
  ::unlink(temp.c_str());
  if (::symlink(directory.c_str(), temp.c_str()) != 0) return ErrnoError(errno, "symlink", temp);
  if (::rename(temp.c_str(), link.c_str()) != 0) return ErrnoError(errno, "rename", link);
  return absl::OkStatus();
}

absl::Status Installer::LinkSteamClient() {
  if (options_.steam_home.empty()) return absl::OkStatus();
  std::vector<std::string> candidates;
  if (!options_.steamcmd_client_dir.empty()) {
    candidates.push_back(options_.steamcmd_client_dir);
  } else {
    candidates = {options_.steam_home + "/.steam/steamcmd", options_.steam_home + "/.steam/steam",
                  options_.steam_home + "/Steam",
                  fs::path(options_.steamcmd).parent_path().string()};
  }
  for (const std::string& dir : candidates) {
    std::error_code error;
    if (!fs::exists(dir + "/linux32/steamclient.so", error)) continue;
    fs::create_directories(options_.steam_home + "/.steam", error);
    for (const char* bits : {"32", "64"}) {
      const std::string link = absl::StrCat(options_.steam_home, "/.steam/sdk", bits);
      const std::string target = absl::StrCat(dir, "/linux", bits);
      if (fs::read_symlink(link, error) == fs::path(target)) continue;
      const std::string temp = link + ".tmp";
      ::unlink(temp.c_str());
      if (::symlink(target.c_str(), temp.c_str()) != 0 || ::rename(temp.c_str(), link.c_str())) {
        return ErrnoError(errno, "link", link);
      }
    }
    return absl::OkStatus();
  }
  return absl::NotFoundError("no steamcmd linux32/steamclient.so found for ~/.steam/sdk32");
}

std::vector<std::string> Installer::RemoveUnused(const std::set<std::string>& pinned) {
  std::vector<std::string> removed;
  const std::string current = CurrentDirectory();
  std::error_code error;
  for (const fs::directory_entry& entry :
       fs::directory_iterator(layout_.installation_dir(), error)) {
    const std::string name = entry.path().filename().string();
    if (name == "current" || name == current || name.front() == '.' || pinned.count(name) > 0 ||
        !entry.is_directory() || entry.is_symlink()) {
      continue;
    }
    absl::StatusOr<std::string> build = ManifestBuild(entry.path().string());
    fs::remove_all(entry.path(), error);
    if (!error) removed.push_back(build.ok() ? *build : name);
  }
  return removed;
}

absl::StatusOr<v1::CheckForUpdateResponse> Installer::CheckForUpdate(const std::string& branch) {
  if (!ValidBranch(branch)) {
    return absl::InvalidArgumentError(absl::StrCat("invalid branch '", branch, "'"));
  }
  absl::StatusOr<ProcessResult> result = RunProcess(
      runner_,
      {.argv = {options_.steamcmd, "+@ShutdownOnFailedCommand", "1", "+login", "anonymous",
                "+app_info_update", "1", "+app_info_print", kSteamAppId, "+quit"},
       .env = options_.env},
      options_.check_timeout);
  if (!result.ok()) {
    return absl::UnavailableError(absl::StrCat("steamcmd: ", result.status().message()));
  }
  absl::StatusOr<std::string> latest = ParseAppInfoBuildId(result->output, kSteamAppId, branch);
  if (!latest.ok()) {
    return absl::UnavailableError(
        absl::StrCat("steamcmd gave no build for the branch: ", latest.status().message()));
  }
  v1::CheckForUpdateResponse response;
  response.set_installed_build_id(InstalledBuild());
  response.set_latest_build_id(*latest);
  response.set_update_available(response.installed_build_id() != *latest);
  response.mutable_checked_at()->set_seconds(absl::ToUnixSeconds(clock_.Now()));
  return response;
}

}  // namespace l4d2::agent
