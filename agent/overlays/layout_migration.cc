#include "agent/overlays/layout_migration.h"

#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/file_util.h"
#include "common/logging.h"
#include "common/names.h"
#include "common/status_macros.h"

namespace l4d2::agent {
namespace {

namespace fs = std::filesystem;

constexpr char kLayoutMarker[] = ".layout";
constexpr char kLayoutVersion[] = "one directory per ref\n";

// Whether `dir` holds an overlay: a `current` link to a numbered directory beside it.
bool IsOverlayDirectory(const fs::path& dir) {
  std::error_code error;
  const fs::path target = fs::read_symlink(dir / "current", error);
  int number = 0;
  return !error && target.has_filename() && target == target.filename() &&
         absl::SimpleAtoi(target.string(), &number) && number > 0 &&
         fs::is_directory(fs::symlink_status(dir / target, error));
}

// Nested refs below overlays/, deepest first (a ref's own nested refs move before it does).
std::vector<std::string> NestedRefs(const fs::path& root) {
  std::vector<std::string> refs;
  std::error_code error;
  for (auto it = fs::recursive_directory_iterator(root, error);
       !error && it != fs::recursive_directory_iterator(); it.increment(error)) {
    const std::string name = it->path().filename().string();
    // Only directories whose names a ref component can have lead to refs.
    if (it->is_symlink() || !it->is_directory() || name.empty() || name[0] == '.' ||
        !ValidateOverlayRef(name).ok()) {
      it.disable_recursion_pending();
      continue;
    }
    if (it.depth() + 1 >= kMaxOverlayRefComponents) it.disable_recursion_pending();
    const std::string ref = it->path().lexically_relative(root).string();
    if (it.depth() >= 1 && ValidateOverlayRef(ref).ok() && IsOverlayDirectory(it->path())) {
      refs.push_back(ref);
    }
  }
  std::sort(refs.begin(), refs.end(), [](const std::string& a, const std::string& b) {
    return std::count(a.begin(), a.end(), '/') > std::count(b.begin(), b.end(), '/');
  });
  return refs;
}

// Rewrites the overlay lines of one mount plan to the per-ref directories.
absl::Status RewriteMountPlan(const fs::path& plan) {
  absl::StatusOr<std::string> text = ReadFileToString(plan.string(), 64 * 1024);
  if (absl::IsNotFound(text.status())) return absl::OkStatus();
  L4D2_RETURN_IF_ERROR(text.status());
  std::vector<std::string> lines = absl::StrSplit(*text, '\n', absl::SkipEmpty());
  bool changed = false;
  for (std::string& line : lines) {
    absl::string_view rest = line;
    if (!absl::ConsumePrefix(&rest, "overlays/")) continue;
    const size_t slash = rest.rfind('/');
    if (slash == absl::string_view::npos) continue;
    const absl::string_view ref = rest.substr(0, slash);
    if (ref.find('/') == absl::string_view::npos) continue;
    line = absl::StrCat("overlays/", OverlayDirectory(ref), rest.substr(slash));
    changed = true;
  }
  if (!changed) return absl::OkStatus();
  return WriteFileAtomically(plan.string(), absl::StrCat(absl::StrJoin(lines, "\n"), "\n"), 0644);
}

}  // namespace

absl::StatusOr<int> MigrateOverlayLayout(const HostLayout& layout) {
  const fs::path root = layout.overlays_dir();
  const fs::path marker = root / kLayoutMarker;
  std::error_code error;
  if (fs::exists(marker, error)) return 0;
  int moved = 0;
  for (const std::string& ref : NestedRefs(root)) {
    const fs::path to = layout.overlay_dir(ref);
    if (fs::exists(fs::symlink_status(to, error))) {
      return absl::FailedPreconditionError(absl::StrCat("overlay layout: cannot move '", ref,
                                                        "' to '", to.string(), "': it exists"));
    }
    fs::rename(root / ref, to, error);
    if (error) return ErrnoError(error.value(), "move overlay to", to.string());
    L4D2_LOG(INFO) << "overlay '" << ref << "' moved to " << to.string();
    ++moved;
  }
  // The plans are rewritten after every move, so a crash between the two is finished by the
  // next start (the walk finds nothing to move then, and the plans are rewritten anyway).
  for (const fs::directory_entry& instance :
       fs::directory_iterator(layout.instances_dir(), error)) {
    L4D2_RETURN_IF_ERROR(RewriteMountPlan(instance.path() / "lower"));
  }
  // Directories that only held nested refs are empty now: remove them, deepest first.
  std::vector<fs::path> empty;
  for (auto it = fs::recursive_directory_iterator(root, error);
       !error && it != fs::recursive_directory_iterator(); it.increment(error)) {
    if (it->is_symlink() || !it->is_directory()) {
      it.disable_recursion_pending();
      continue;
    }
    const fs::path dir = it->path();
    if (!IsOverlayDirectory(dir) && it.depth() < kMaxOverlayRefComponents) {
      empty.push_back(dir);
    } else {
      it.disable_recursion_pending();
    }
  }
  for (auto it = empty.rbegin(); it != empty.rend(); ++it) fs::remove(*it, error);  // if empty
  L4D2_RETURN_IF_ERROR(WriteFileAtomically(marker.string(), kLayoutVersion, 0644));
  return moved;
}

}  // namespace l4d2::agent
