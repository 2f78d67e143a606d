#pragma once

// Installs and updates the game (Steam app 222860) with steamcmd into the host's shared
// installation, without ever writing into a build that instances may have mounted:
//
//   1. steamcmd runs into installation/.staging-<operation>/, seeded with a copy of the current
//      build (cp --reflink=auto) so that an update downloads only what changed;
//   2. anonymous login uses the platform workaround (a windows pass into an empty directory,
//      then linux with validate); an account's credentials go through a 0600 +runscript file,
//      never argv;
//   3. on success the staging directory becomes installation/<build-id>/ (a suffix keeps names
//      unique) and `current` is switched atomically (symlink + rename);
//   4. builds neither current nor pinned by an instance are removed.
// A failed, hung or truncated steamcmd leaves `current` and every build untouched.
//
// Not thread-safe: the caller runs at most one install per host at a time (the operation
// registry enforces it).

#include <functional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "agent/host/layout.h"
#include "agent/os/process_runner.h"
#include "common/clock.h"
#include "l4d2/agent/v1/install.pb.h"

namespace l4d2::agent {

struct InstallerOptions {
  // The steamcmd program.
  std::string steamcmd;
  // steamcmd's environment (HOME decides where it keeps its own files).
  std::vector<std::string> env;
  // The home directory of the user the servers run as: ~/.steam/sdk32 and sdk64 go there.
  std::string steam_home;
  // Directory with steamcmd's linux32/ and linux64/ (steamclient.so); empty: the first of
  // <steam_home>/.steam/steamcmd, <steam_home>/.steam/steam, <steam_home>/Steam and the
  // directory of `steamcmd` that has linux32/steamclient.so.
  std::string steamcmd_client_dir;
  // A file of two lines, user and password, readable only by the agent (mode 0600); required
  // for InstallRequest.use_steam_account.
  std::string account_file;
  // steamcmd is killed when it prints nothing for this long.
  absl::Duration no_progress_timeout = absl::Minutes(5);
  // Upper bound of one CheckForUpdate.
  absl::Duration check_timeout = absl::Minutes(2);
};

using InstallEventSink = std::function<void(const v1::InstallEvent&)>;

class Installer {
 public:
  // `runner` and `clock` must outlive the installer.
  Installer(HostLayout layout, ProcessRunner& runner, Clock& clock, InstallerOptions options);

  // Runs one install. `operation_id` names the staging directory (a retry of a crashed
  // operation starts it afresh); `pinned` are installation directory names instances use.
  // Errors: UNAVAILABLE for a hung, truncated or transiently failing steamcmd (retry),
  // FAILED_PRECONDITION for steamcmd's permanent errors (its own text), INVALID_ARGUMENT for a
  // bad branch or a missing account file.
  absl::StatusOr<v1::InstallResult> Install(const v1::InstallRequest& request,
                                            const std::string& operation_id,
                                            const std::set<std::string>& pinned,
                                            const InstallEventSink& sink);

  absl::StatusOr<v1::CheckForUpdateResponse> CheckForUpdate(const std::string& branch);

  // The build id of `current`; empty when not installed.
  std::string InstalledBuild() const;
  // The directory name `current` points at; empty when not installed.
  std::string CurrentDirectory() const;

 private:
  absl::Status RunPass(const std::vector<std::string>& args, const InstallEventSink& sink);
  absl::Status LinkSteamClient();
  absl::Status SwitchCurrent(const std::string& directory);
  std::vector<std::string> RemoveUnused(const std::set<std::string>& pinned);

  HostLayout layout_;
  ProcessRunner& runner_;
  Clock& clock_;
  InstallerOptions options_;
};

// The app id steamcmd installs.
inline constexpr char kSteamAppId[] = "222860";

}  // namespace l4d2::agent
