#include "agent/instance/server_tree.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace l4d2::agent {
namespace {

namespace fs = std::filesystem;

constexpr int kMaxDirectories = 100000;
constexpr int kMaxDepth = 32;

// Gives `path` and everything below it to `owner` (never following a link).
absl::Status ChownTree(const fs::path& path, FileOwner owner) {
  if (::lchown(path.c_str(), owner.uid, owner.gid) != 0)
    return ErrnoError(errno, "chown", path.string());
  std::error_code error;
  for (auto it = fs::recursive_directory_iterator(path, error);
       !error && it != fs::recursive_directory_iterator(); it.increment(error)) {
    if (::lchown(it->path().c_str(), owner.uid, owner.gid) != 0) {
      return ErrnoError(errno, "chown", it->path().string());
    }
  }
  if (error) return ErrnoError(error.value(), "walk", path.string());
  return absl::OkStatus();
}

class Giver {
 public:
  Giver(fs::path upper, FileOwner owner) : upper_(std::move(upper)), owner_(owner) {}

  // `relative` is a directory of the merged tree present as a directory in `layers`.
  absl::Status Give(const fs::path& relative, const std::vector<fs::path>& layers, int depth) {
    if (++count_ > kMaxDirectories || depth > kMaxDepth) {
      return absl::ResourceExhaustedError(absl::StrCat("the server's tree holds more than ",
                                                       kMaxDirectories, " directories or ",
                                                       kMaxDepth, " levels"));
    }
    const fs::path target = relative.empty() ? upper_ : upper_ / relative;
    struct stat st {};
    if (::lstat(target.c_str(), &st) != 0) {
      if (errno != ENOENT) return ErrnoError(errno, "stat", target.string());
      if (::mkdir(target.c_str(), 0755) != 0) return ErrnoError(errno, "create", target.string());
      if (::lchown(target.c_str(), owner_.uid, owner_.gid) != 0) {
        return ErrnoError(errno, "chown", target.string());
      }
    } else if (!S_ISDIR(st.st_mode)) {
      return absl::OkStatus();  // hidden by the writable layer: a whiteout or a file
    } else if (st.st_uid != owner_.uid || st.st_gid != owner_.gid) {
      L4D2_RETURN_IF_ERROR(ChownTree(target, owner_));
    }
    // The first layer naming a child decides what it is; directories of the same name below
    // it merge into it.
    std::map<std::string, std::vector<fs::path>> directories;
    std::set<std::string> others;
    for (const fs::path& layer : layers) {
      std::error_code error;
      for (const fs::directory_entry& entry : fs::directory_iterator(layer / relative, error)) {
        const std::string name = entry.path().filename().string();
        if (others.count(name) != 0) continue;
        const bool directory = entry.is_directory(error) && !entry.is_symlink(error);
        auto known = directories.find(name);
        if (known != directories.end()) {
          if (directory) known->second.push_back(layer);
        } else if (directory) {
          directories[name].push_back(layer);
        } else {
          others.insert(name);
        }
      }
    }
    for (const auto& [name, below] : directories) {
      L4D2_RETURN_IF_ERROR(Give(relative / name, below, depth + 1));
    }
    return absl::OkStatus();
  }

 private:
  const fs::path upper_;
  const FileOwner owner_;
  int count_ = 0;
};

}  // namespace

absl::Status GiveDirectoriesTo(const std::string& upper, const std::vector<std::string>& lowers,
                               FileOwner owner) {
  std::vector<fs::path> layers(lowers.begin(), lowers.end());
  Giver giver(upper, owner);
  return giver.Give(fs::path(), layers, 0);
}

}  // namespace l4d2::agent
