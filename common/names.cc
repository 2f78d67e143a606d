#include "common/names.h"

#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "common/status_macros.h"

namespace l4d2 {
namespace {

bool IsLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

absl::Status Invalid(absl::string_view what, absl::string_view value, absl::string_view why) {
  // Quote a bounded, escaped copy: the value may be huge or contain newlines.
  absl::string_view shown = value.substr(0, 80);
  return absl::InvalidArgumentError(absl::StrCat("invalid ", what, " '", absl::CHexEscape(shown),
                                                 value.size() > 80 ? "..." : "", "': ", why));
}

}  // namespace

absl::Status ValidateInstanceName(absl::string_view name) {
  constexpr absl::string_view kWhat = "instance name";
  if (name.empty()) return Invalid(kWhat, name, "must not be empty");
  if (name.size() > kMaxInstanceNameLength) {
    return Invalid(kWhat, name, "longer than 64 characters");
  }
  if (!IsLowerAlnum(name[0])) {
    return Invalid(kWhat, name, "must start with a lower-case letter or a digit");
  }
  for (char c : name) {
    if (!IsLowerAlnum(c) && c != '_' && c != '-') {
      return Invalid(kWhat, name, "only a-z, 0-9, '_' and '-' are allowed");
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateOverlayRef(absl::string_view ref) {
  constexpr absl::string_view kWhat = "overlay ref";
  if (ref.empty()) return Invalid(kWhat, ref, "must not be empty");
  if (ref.size() > kMaxOverlayRefLength) return Invalid(kWhat, ref, "longer than 255 bytes");
  if (ref.front() == '/') return Invalid(kWhat, ref, "must be relative");
  std::vector<absl::string_view> components = absl::StrSplit(ref, '/');
  if (static_cast<int>(components.size()) > kMaxOverlayRefComponents) {
    return Invalid(kWhat, ref, "more than 8 components");
  }
  for (absl::string_view component : components) {
    if (component.empty()) return Invalid(kWhat, ref, "empty component");
    if (component == "." || component == "..") {
      return Invalid(kWhat, ref, "'.' and '..' are not allowed");
    }
    if (!IsLowerAlnum(component[0])) {
      return Invalid(kWhat, ref, "each component must start with a lower-case letter or a digit");
    }
    for (char c : component) {
      if (!IsLowerAlnum(c) && c != '.' && c != '_' && c != '-') {
        return Invalid(kWhat, ref, "only a-z, 0-9, '.', '_', '-' and '/' are allowed");
      }
    }
  }
  return absl::OkStatus();
}

std::string OverlayDirectory(absl::string_view ref) {
  return absl::StrReplaceAll(ref, {{"/", "+"}});
}

absl::StatusOr<std::string> OverlayRefOfDirectory(absl::string_view directory) {
  if (directory.find('/') != absl::string_view::npos) {
    return absl::InvalidArgumentError("an overlay directory is one path component");
  }
  std::string ref = absl::StrReplaceAll(directory, {{"+", "/"}});
  L4D2_RETURN_IF_ERROR(ValidateOverlayRef(ref));
  return ref;
}

absl::Status ValidateLayerPath(const std::string& path) {
  auto invalid = [&](absl::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid file path '", path.substr(0, 80), "': ", why));
  };
  if (path.empty() || path.size() > 255) return invalid("1 to 255 bytes");
  if (path.front() == '/') return invalid("must be relative");
  std::vector<absl::string_view> parts = absl::StrSplit(path, '/');
  if (parts.size() > 16) return invalid("more than 16 components");
  for (absl::string_view part : parts) {
    if (part.empty() || part == "." || part == "..") return invalid("empty, '.' or '..' component");
    for (unsigned char c : part) {
      if (c < 0x20 || c > 0x7e || c == '\\') return invalid("printable ASCII only, no '\\\\'");
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateInlineFile(const std::string& path, uint32_t mode) {
  L4D2_RETURN_IF_ERROR(ValidateLayerPath(path));
  if (mode != 0 && mode != 0644 && mode != 0755) {
    return absl::InvalidArgumentError(
        absl::StrFormat("file '%s': mode %04o; inline files are 0644 or 0755 (0 means 0644)",
                        path.substr(0, 80), mode));
  }
  for (absl::string_view game : {"srcds_run", "srcds_linux", "bin", "left4dead2/bin"}) {
    if (path == game || absl::StartsWith(path, absl::StrCat(game, "/"))) {
      return absl::InvalidArgumentError(absl::StrCat(
          "file '", path.substr(0, 80),
          "': overlays may not replace the game's own programs and libraries (", game, ")"));
    }
  }
  return absl::OkStatus();
}

}  // namespace l4d2
