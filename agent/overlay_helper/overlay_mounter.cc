#include "agent/overlay_helper/overlay_mounter.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "agent/overlay_helper/mount_plan.h"
#include "common/file_util.h"
#include "common/names.h"
#include "common/status_macros.h"

namespace l4d2::agent {
namespace {

using Fd = UniqueFd;

// Directories only, no symlink anywhere on the way.
absl::StatusOr<Fd> OpenBeneath(int root, const std::string& relative) {
  return l4d2::OpenBeneath(root, relative, O_PATH | O_DIRECTORY, Symlinks::kRefuse);
}

absl::StatusOr<Fd> OpenRoot(const std::string& root) {
  int fd = ::open(root.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return ErrnoError(errno, "open root", root);
  return Fd(fd);
}

}  // namespace

bool OverlayMounter::IsMounted(const std::string& name) const {
  // O(1), where reading /proc/self/mountinfo grows with the number of mounts (1,000 instances:
  // ~300 KB per question). The path crosses into the mount, so the descriptor is the mounted
  // tree's root when there is one; the agent's root itself may well sit on an overlay
  // (containers), hence both conditions.
  absl::StatusOr<Fd> root = OpenRoot(root_);
  if (!root.ok()) return false;
  absl::StatusOr<Fd> merged = OpenBeneath(root->get(), absl::StrCat("runtime/", name, "/merged"));
  if (!merged.ok()) return false;
  struct statx facts {};
  struct statfs filesystem {};
  return ::statx(merged->get(), "", AT_EMPTY_PATH, STATX_BASIC_STATS, &facts) == 0 &&
         (facts.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) != 0 &&
         (facts.stx_attributes & STATX_ATTR_MOUNT_ROOT) != 0 &&
         ::fstatfs(merged->get(), &filesystem) == 0 && filesystem.f_type == OVERLAYFS_SUPER_MAGIC;
}

absl::Status OverlayMounter::Mount(const std::string& name) {
  L4D2_RETURN_IF_ERROR(ValidateInstanceName(name));
  if (IsMounted(name)) return absl::OkStatus();
  L4D2_ASSIGN_OR_RETURN(Fd root, OpenRoot(root_));
  // Read the plan through the root descriptor too.
  L4D2_ASSIGN_OR_RETURN(Fd instance, OpenBeneath(root.get(), absl::StrCat("instances/", name)));
  int plan_fd = ::openat(instance.get(), "lower", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (plan_fd < 0) return ErrnoError(errno, "open mount plan of", name);
  Fd plan_holder(plan_fd);
  L4D2_ASSIGN_OR_RETURN(std::string plan_text,
                        ReadFileToString(absl::StrCat("/proc/self/fd/", plan_fd), 64 * 1024));
  L4D2_ASSIGN_OR_RETURN(std::vector<std::string> plan, ParseMountPlan(name, plan_text));

  std::vector<Fd> lowers;
  std::vector<std::string> lower_paths;
  for (const std::string& layer : plan) {
    L4D2_ASSIGN_OR_RETURN(Fd fd, OpenBeneath(root.get(), layer));
    lower_paths.push_back(fd.ProcPath());
    lowers.push_back(std::move(fd));
  }
  const std::string runtime = absl::StrCat("runtime/", name);
  L4D2_ASSIGN_OR_RETURN(Fd upper, OpenBeneath(root.get(), runtime + "/upper"));
  L4D2_ASSIGN_OR_RETURN(Fd work, OpenBeneath(root.get(), runtime + "/work"));
  L4D2_ASSIGN_OR_RETURN(Fd merged, OpenBeneath(root.get(), runtime + "/merged"));
  const std::string options =
      absl::StrCat("lowerdir=", absl::StrJoin(lower_paths, ":"), ",upperdir=", upper.ProcPath(),
                   ",workdir=", work.ProcPath());
  if (::mount("overlay", merged.ProcPath().c_str(), "overlay", MS_NODEV | MS_NOSUID,
              options.c_str()) != 0) {
    return ErrnoError(errno, "mount overlay at", absl::StrCat(runtime, "/merged"));
  }
  return absl::OkStatus();
}

absl::Status OverlayMounter::Unmount(const std::string& name) {
  L4D2_RETURN_IF_ERROR(ValidateInstanceName(name));
  L4D2_ASSIGN_OR_RETURN(Fd root, OpenRoot(root_));
  const std::string runtime = absl::StrCat("runtime/", name);
  if (IsMounted(name)) {
    // The mount point itself was validated when it was mounted; refuse symlinks on the way.
    L4D2_ASSIGN_OR_RETURN(Fd runtime_dir, OpenBeneath(root.get(), runtime));
    const std::string merged = absl::StrCat(runtime_dir.ProcPath(), "/merged");
    if (::umount2(merged.c_str(), UMOUNT_NOFOLLOW) != 0) {
      return ErrnoError(errno, "unmount", absl::StrCat(runtime, "/merged"));
    }
  }
  // The kernel leaves work/work (mode 000, owned by root) behind.
  absl::StatusOr<Fd> work = OpenBeneath(root.get(), runtime + "/work");
  if (work.ok()) {
    std::error_code error;
    std::filesystem::remove_all(absl::StrCat(work->ProcPath(), "/work"), error);
    if (error) return ErrnoError(error.value(), "remove", runtime + "/work/work");
  }
  return absl::OkStatus();
}

}  // namespace l4d2::agent
