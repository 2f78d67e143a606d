#pragma once

// The agent's directory tree below LEFT4ME_ROOT (docs/on-disk-layout.md):
//
//   installation/<build-id>/     one directory per Steam build; `current` -> the newest complete
//   overlays/<dir>/<version>/    content layers, one directory per ref (OverlayDirectory: '/'
//                                becomes '+'); `current` -> the newest complete version
//   instances/<name>/            spec, rendered server.cfg, unit environment, pinned versions
//   runtime/<name>/{upper,work,merged}
//   agent/                       the agent's own checkpoint (operations journal)
//   tmp/
//
// A value type: it only computes paths.

#include <set>
#include <string>

#include "absl/status/status.h"

namespace l4d2::agent {

class HostLayout {
 public:
  explicit HostLayout(std::string root);

  const std::string& root() const { return root_; }
  std::string installation_dir() const { return root_ + "/installation"; }
  std::string current_installation() const { return root_ + "/installation/current"; }
  std::string overlays_dir() const { return root_ + "/overlays"; }
  // overlays/<OverlayDirectory(ref)>: the versions of one overlay and its `current` link.
  std::string overlay_dir(const std::string& ref) const;
  std::string instances_dir() const { return root_ + "/instances"; }
  std::string runtime_dir() const { return root_ + "/runtime"; }
  std::string agent_dir() const { return root_ + "/agent"; }
  std::string tmp_dir() const { return root_ + "/tmp"; }
  std::string backups_dir() const { return root_ + "/backups"; }

  // The appmanifest of the current installation.
  std::string current_app_manifest() const;
  // The appmanifest of the installation directory `installation` (a name in installation/).
  std::string app_manifest(const std::string& installation) const;

  // instances/<name>/installation: the installation directory an instance is pinned to.
  std::string instance_installation_file(const std::string& name) const {
    return instances_dir() + "/" + name + "/installation";
  }
  // The installation directory names all instances are pinned to (never removed by updates).
  std::set<std::string> PinnedInstallations() const;

  // Creates the root and every top-level directory that is missing (mode 0755; agent/ and tmp/
  // 0700). Existing directories are left as they are.
  absl::Status CreateDirectories() const;

 private:
  std::string root_;
};

// Steam's app id of the Left 4 Dead 2 dedicated server.
inline constexpr char kDedicatedServerAppId[] = "222860";

}  // namespace l4d2::agent
