#pragma once

// Validation of the names users choose, shared by the controller, the agent and the overlay
// helper so that all three accept exactly the same set.
//
// Instance (server) names:  ^[a-z0-9][a-z0-9_-]{0,63}$
// Overlay refs: relative paths of components [a-z0-9][a-z0-9._-]*, separated by single '/',
//   no '.' or '..' component, no empty component, at most 255 bytes and 8 components.
//
// These checks are lexical only. Code that opens paths built from them must still resolve
// them without following symlinks out of their root (file-descriptor based resolution).
// Errors are INVALID_ARGUMENT with the offending value quoted (escaped, so that control
// characters cannot forge log lines).

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace l4d2 {

inline constexpr size_t kMaxInstanceNameLength = 64;
inline constexpr size_t kMaxOverlayRefLength = 255;
inline constexpr int kMaxOverlayRefComponents = 8;

absl::Status ValidateInstanceName(absl::string_view name);
absl::Status ValidateOverlayRef(absl::string_view ref);

// The single directory an overlay ref has below a host's overlays/: its '/' become '+', which
// no ref contains. Refs are a flat namespace on disk: none lies inside another's directory, so
// no sync of one ref can take another's directory for one of its versions or write through its
// `current` link. OverlayRefOfDirectory is the inverse, INVALID_ARGUMENT for a name no valid
// ref maps to (".workshop-cache", "a/b", "a++b").
std::string OverlayDirectory(absl::string_view ref);
absl::StatusOr<std::string> OverlayRefOfDirectory(absl::string_view directory);

// A relative file path inside a content layer (inline files, archive entries): components of
// printable ASCII without '/', '\\', NUL, not "." or "..", at most 16 components and 255 bytes.
absl::Status ValidateLayerPath(const std::string& path);

// An inline file of an overlay: a valid layer path (above), permission bits 0 (meaning 0644),
// 0644 or 0755 (nothing group- or world-writable, no set-id bits), and not where the game's
// own programs and engine libraries live (`srcds_run`, `srcds_linux`, `bin/`,
// `left4dead2/bin/`): a layer over the game adds content, it does not replace what runs.
absl::Status ValidateInlineFile(const std::string& path, uint32_t mode);

}  // namespace l4d2
