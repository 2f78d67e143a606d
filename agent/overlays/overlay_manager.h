#pragma once

// Content layers, one directory per ref (HostLayout::overlay_dir: overlays/<ref with '/' as '+'>):
// numbered versions (1, 2, ...) and `current`, the newest complete one. Refs never nest on
// disk, so no ref's sync can see another's directories. A sync builds the next version in
// overlays/<dir>/.staging-<operation>/ and
// switches `current` (symlink + rename) only when it is complete, so a running instance keeps
// the version it started with. Identical content makes no new version. Versions that are
// neither current nor pinned by an instance are removed after a sync.
//
// Sources:
// - inline files (size-capped);
// - archives (tar.gz, zip) fetched by URL, verified against their SHA-256 before extraction,
//   extracted by an ArchiveExtractor (left4me-fetch: libarchive, escaping entries refused);
// - Workshop items: metadata from the Steam Web API (collections expanded), each file
//   downloaded once per time_updated into overlays/.workshop-cache/ and hard-linked into the
//   version as left4dead2/addons/<id>.vpk; a cached file no version links to any more (link
//   count 1) is removed after each sync;
// - an administrator's script, run by a ScriptSandbox with the staging directory as the only
//   writable place; what it leaves is checked with ValidateLayerTree.
//
// Callers serialize syncs per ref (the operation registry's lock). Errors: INVALID_ARGUMENT
// for a bad ref or file path, RESOURCE_EXHAUSTED above the size limits.

#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "agent/host/layout.h"
#include "agent/os/archive_extractor.h"
#include "agent/os/script_sandbox.h"
#include "common/http/http_fetcher.h"
#include "l4d2/agent/v1/overlay.pb.h"

namespace l4d2::agent {

struct OverlayLimits {
  size_t max_inline_bytes = size_t{16} << 20;
  int max_inline_files = 1000;
  uint64_t max_archive_bytes = uint64_t{4} << 30;
  uint64_t max_extracted_bytes = uint64_t{8} << 30;
  absl::Duration fetch_timeout = absl::Minutes(30);
  // The Steam Web API (Workshop metadata); configurable so tests and mirrors can stand in.
  std::string steam_web_api = "https://api.steampowered.com";
  int max_workshop_items = 500;
  absl::Duration default_script_timeout = absl::Minutes(10);
  absl::Duration max_script_timeout = absl::Hours(6);
};

class OverlayManager {
 public:
  // "<ref>/<version>" -> the instances pinned to it.
  using PinnedLayers = std::function<std::map<std::string, std::vector<std::string>>()>;

  // Lines of output worth showing to the caller (an admin script's output).
  using LineSink = ScriptSandbox::LineSink;

  // `fetcher`, `extractor` and `scripts` (each may be null: Workshop items and archives, or
  // scripts, are then refused with FAILED_PRECONDITION) must outlive the manager.
  OverlayManager(HostLayout layout, OverlayLimits limits, PinnedLayers pinned,
                 HttpFetcher* fetcher = nullptr, ArchiveExtractor* extractor = nullptr,
                 ScriptSandbox* scripts = nullptr);

  absl::StatusOr<v1::OverlaySyncResult> Sync(const v1::SyncOverlayRequest& request,
                                             const std::string& operation_id,
                                             const LineSink& log = nullptr);
  absl::StatusOr<v1::ListOverlaysResponse> List() const;

 private:
  absl::Status FillFromInlineFiles(const v1::InlineFiles& files, const std::string& staging) const;
  absl::Status FillFromWorkshop(const v1::WorkshopItems& workshop,
                                const std::string& staging) const;
  absl::Status FillFromArchive(const v1::Archive& archive, const std::string& operation,
                               const std::string& staging) const;
  absl::Status FillFromScript(const v1::Script& script, const std::string& staging,
                              const LineSink& log) const;
  void PruneWorkshopCache();

  HostLayout layout_;
  OverlayLimits limits_;
  PinnedLayers pinned_;
  HttpFetcher* fetcher_;
  ArchiveExtractor* extractor_;
  ScriptSandbox* scripts_;
  // Held while Workshop files are downloaded and linked, and while the cache is pruned: a
  // fresh download (link count 1 until linked) is never taken for an unused one.
  mutable absl::Mutex workshop_mutex_;
};

// Checks a layer built by a source the agent does not control (a script): only directories,
// regular files and relative symlinks that stay inside the layer; at most `max_bytes` in
// regular files and 16 levels deep. FAILED_PRECONDITION names the first offending path;
// RESOURCE_EXHAUSTED above the size.
absl::Status ValidateLayerTree(const std::string& root, uint64_t max_bytes);

}  // namespace l4d2::agent
