// left4me-overlay: the only privileged step of running an instance. systemd runs it as
// ExecStartPre/ExecStopPost of left4me-server@<name>.service, in PID 1's mount namespace:
//
//   left4me-overlay [--root DIR] mount <name>
//   left4me-overlay [--root DIR] unmount <name>
//
// Fixed verbs, no shell, strict validation (agent/overlay_helper/overlay_mounter.h).
// Exit codes: 0 done, 1 refused or failed (reason on stderr), 2 usage.

#include <cstdio>
#include <string>

#include "agent/overlay_helper/overlay_mounter.h"

namespace {

constexpr char kUsage[] = "usage: left4me-overlay [--root DIR] mount|unmount NAME\n";

}  // namespace

int main(int argc, char** argv) {
  std::string root = "/var/lib/left4me";
  int i = 1;
  if (argc > 2 && std::string(argv[1]) == "--root") {
    root = argv[2];
    i = 3;
  }
  if (argc - i != 2 || root.empty() || root[0] != '/') {
    std::fputs(kUsage, stderr);
    return 2;
  }
  const std::string verb = argv[i];
  const std::string name = argv[i + 1];
  l4d2::agent::OverlayMounter mounter(root);
  absl::Status status;
  if (verb == "mount") {
    status = mounter.Mount(name);
  } else if (verb == "unmount") {
    status = mounter.Unmount(name);
  } else {
    std::fputs(kUsage, stderr);
    return 2;
  }
  if (!status.ok()) {
    std::fprintf(stderr, "left4me-overlay: %s\n", std::string(status.message()).c_str());
    return 1;
  }
  return 0;
}
