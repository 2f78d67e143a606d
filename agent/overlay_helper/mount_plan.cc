#include "agent/overlay_helper/mount_plan.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/names.h"

namespace l4d2::agent {

bool IsPlainDirectoryName(absl::string_view name) {
  if (name.empty() || name.size() > 64 || name[0] == '.') return false;
  for (char c : name) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-') {
      return false;
    }
  }
  return true;
}

std::string RenderMountPlan(const MountPlan& plan) {
  std::string text = absl::StrCat("instances/", plan.instance, "/layer\n");
  for (const MountPlan::Overlay& overlay : plan.overlays) {
    absl::StrAppend(&text, "overlays/", OverlayDirectory(overlay.ref), "/", overlay.version, "\n");
  }
  absl::StrAppend(&text, "installation/", plan.installation, "\n");
  return text;
}

absl::StatusOr<std::vector<std::string>> ParseMountPlan(absl::string_view name,
                                                        absl::string_view text) {
  if (!ValidateInstanceName(name).ok()) {
    return absl::InvalidArgumentError("mount plan: invalid instance name");
  }
  std::vector<std::string> layers;
  std::vector<absl::string_view> lines = absl::StrSplit(text, '\n', absl::SkipEmpty());
  if (lines.size() < 2 || lines.size() > static_cast<size_t>(kMaxLowerLayers)) {
    return absl::InvalidArgumentError(
        absl::StrCat("mount plan: expected 2 to ", kMaxLowerLayers, " layers"));
  }
  const std::string own = absl::StrCat("instances/", name, "/layer");
  for (size_t i = 0; i < lines.size(); ++i) {
    absl::string_view line = lines[i];
    bool first = i == 0;
    bool last = i + 1 == lines.size();
    bool ok = false;
    if (first) {
      ok = line == own;
    } else if (last) {
      absl::string_view rest = line;
      ok = absl::ConsumePrefix(&rest, "installation/") && IsPlainDirectoryName(rest);
    } else {
      absl::string_view rest = line;
      if (absl::ConsumePrefix(&rest, "overlays/")) {
        std::vector<absl::string_view> parts = absl::StrSplit(rest, '/');
        ok = parts.size() == 2 && OverlayRefOfDirectory(parts[0]).ok() &&
             IsPlainDirectoryName(parts[1]);
      }
    }
    if (!ok) {
      return absl::InvalidArgumentError(
          absl::StrCat("mount plan: line ", i + 1, " is not allowed"));
    }
    layers.emplace_back(line);
  }
  return layers;
}

}  // namespace l4d2::agent
