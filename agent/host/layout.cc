#include "agent/host/layout.h"

#include <sys/stat.h>

#include <cerrno>
#include <filesystem>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/file_util.h"
#include "common/names.h"

namespace l4d2::agent {
namespace {

absl::Status MakeDirectory(const std::string& path, mode_t mode) {
  if (::mkdir(path.c_str(), mode) == 0 || errno == EEXIST) {
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) return ErrnoError(errno, "stat", path);
    if (!S_ISDIR(st.st_mode)) {
      return absl::FailedPreconditionError(absl::StrCat("'", path, "' is not a directory"));
    }
    return absl::OkStatus();
  }
  return ErrnoError(errno, "create directory", path);
}

std::string AppManifestIn(const std::string& installation_dir) {
  return absl::StrCat(installation_dir, "/steamapps/appmanifest_", kDedicatedServerAppId, ".acf");
}

}  // namespace

HostLayout::HostLayout(std::string root) : root_(std::move(root)) {
  while (root_.size() > 1 && root_.back() == '/') root_.pop_back();
}

std::string HostLayout::overlay_dir(const std::string& ref) const {
  return absl::StrCat(overlays_dir(), "/", OverlayDirectory(ref));
}

std::string HostLayout::current_app_manifest() const {
  return AppManifestIn(current_installation());
}

std::string HostLayout::app_manifest(const std::string& installation) const {
  return AppManifestIn(absl::StrCat(installation_dir(), "/", installation));
}

std::set<std::string> HostLayout::PinnedInstallations() const {
  std::set<std::string> pinned;
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(instances_dir(), error)) {
    absl::StatusOr<std::string> name =
        ReadFileToString((entry.path() / "installation").string(), 4096);
    if (name.ok()) pinned.insert(std::string(absl::StripAsciiWhitespace(*name)));
  }
  return pinned;
}

absl::Status HostLayout::CreateDirectories() const {
  absl::Status status = MakeDirectory(root_, 0755);
  if (!status.ok()) return status;
  for (const auto& [path, mode] :
       {std::pair{installation_dir(), 0755}, std::pair{overlays_dir(), 0755},
        std::pair{instances_dir(), 0755}, std::pair{runtime_dir(), 0755},
        std::pair{agent_dir(), 0700}, std::pair{tmp_dir(), 0700}, std::pair{backups_dir(), 0700}}) {
    status = MakeDirectory(path, static_cast<mode_t>(mode));
    if (!status.ok()) return status;
  }
  return absl::OkStatus();
}

}  // namespace l4d2::agent
