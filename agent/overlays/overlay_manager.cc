#include "agent/overlays/overlay_manager.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <filesystem>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "agent/overlays/workshop.h"
#include "common/crash_points.h"
#include "common/file_util.h"
#include "common/names.h"
#include "common/sha256.h"
#include "common/status_macros.h"

namespace l4d2::agent {
namespace {

namespace fs = std::filesystem;

// Numbered version directories of one overlay, ascending.
std::vector<int> Versions(const std::string& base) {
  std::vector<int> versions;
  std::error_code error;
  for (const fs::directory_entry& entry : fs::directory_iterator(base, error)) {
    int number = 0;
    if (entry.is_directory() && !entry.is_symlink() &&
        absl::SimpleAtoi(entry.path().filename().string(), &number) && number > 0) {
      versions.push_back(number);
    }
  }
  std::sort(versions.begin(), versions.end());
  return versions;
}

int CurrentVersion(const std::string& base) {
  std::error_code error;
  int number = 0;
  fs::path target = fs::read_symlink(base + "/current", error);
  return !error && absl::SimpleAtoi(target.filename().string(), &number) ? number : 0;
}

// Whether two directory trees hold the same files with the same content and modes.
bool SameTree(const fs::path& a, const fs::path& b) {
  std::error_code error;
  std::set<std::string> names;
  for (const fs::path& root : {a, b}) {
    for (auto it = fs::recursive_directory_iterator(root, error);
         !error && it != fs::recursive_directory_iterator(); it.increment(error)) {
      names.insert(it->path().lexically_relative(root).string());
    }
  }
  for (const std::string& name : names) {
    fs::path x = a / name;
    fs::path y = b / name;
    if (fs::is_directory(x, error) != fs::is_directory(y, error)) return false;
    if (fs::is_directory(x, error)) continue;
    absl::StatusOr<std::string> left = ReadFileToString(x.string());
    absl::StatusOr<std::string> right = ReadFileToString(y.string());
    if (!left.ok() || !right.ok() || *left != *right ||
        fs::status(x, error).permissions() != fs::status(y, error).permissions()) {
      return false;
    }
  }
  return true;
}

uint64_t TreeSize(const fs::path& root, uint64_t* files) {
  uint64_t bytes = 0;
  std::error_code error;
  for (auto it = fs::recursive_directory_iterator(root, error);
       !error && it != fs::recursive_directory_iterator(); it.increment(error)) {
    if (it->is_regular_file(error)) {
      bytes += it->file_size(error);
      ++*files;
    }
  }
  return bytes;
}

}  // namespace

absl::Status ValidateLayerTree(const std::string& root, uint64_t max_bytes) {
  std::error_code error;
  uint64_t bytes = 0;
  auto bad = [&](const fs::path& path, absl::string_view why) {
    return absl::FailedPreconditionError(
        absl::StrCat("'", path.lexically_relative(root).string(), "' in the new version: ", why));
  };
  for (auto it = fs::recursive_directory_iterator(root, error);
       !error && it != fs::recursive_directory_iterator(); it.increment(error)) {
    const fs::path relative = it->path().lexically_relative(root);
    if (it.depth() >= 16) return bad(it->path(), "more than 16 levels deep");
    const fs::file_status status = it->symlink_status(error);
    if (fs::is_symlink(status)) {
      const fs::path target = fs::read_symlink(it->path(), error);
      if (error || target.empty() || target.is_absolute()) {
        return bad(it->path(), "symlinks must be relative");
      }
      // Resolved lexically from the link's directory, the target must stay inside the layer;
      // resolved by the kernel (links in the target followed, a chain through "x -> ." too),
      // every step must stay inside. A target missing from this layer may come from another.
      int depth = static_cast<int>(std::distance(relative.begin(), relative.end())) - 1;
      for (const fs::path& part : target) {
        if (part == "..") {
          if (--depth < 0) return bad(it->path(), "symlink points outside the layer");
        } else if (part != "." && !part.empty()) {
          ++depth;
        }
      }
      absl::StatusOr<UniqueFd> resolved =
          OpenBeneath(root, relative.string(), O_PATH, Symlinks::kFollowInside);
      if (!resolved.ok() && !absl::IsNotFound(resolved.status())) {
        return bad(it->path(), absl::IsPermissionDenied(resolved.status())
                                   ? "symlink points outside the layer"
                                   : resolved.status().message());
      }
    } else if (fs::is_regular_file(status)) {
      bytes += it->file_size(error);
      if (bytes > max_bytes) {
        return absl::ResourceExhaustedError(
            absl::StrCat("the new version holds more than ", max_bytes, " bytes"));
      }
    } else if (!fs::is_directory(status)) {
      return bad(it->path(), "only files, directories and symlinks are allowed");
    }
  }
  if (error) return ErrnoError(error.value(), "walk", root);
  return absl::OkStatus();
}

OverlayManager::OverlayManager(HostLayout layout, OverlayLimits limits, PinnedLayers pinned,
                               HttpFetcher* fetcher, ArchiveExtractor* extractor,
                               ScriptSandbox* scripts)
    : layout_(std::move(layout)),
      limits_(limits),
      pinned_(std::move(pinned)),
      fetcher_(fetcher),
      extractor_(extractor),
      scripts_(scripts) {}

absl::Status OverlayManager::FillFromInlineFiles(const v1::InlineFiles& inline_files,
                                                 const std::string& staging) const {
  if (inline_files.files_size() > limits_.max_inline_files) {
    return absl::ResourceExhaustedError(
        absl::StrCat("overlay sync: more than ", limits_.max_inline_files, " files"));
  }
  size_t total = 0;
  std::set<std::string> seen;
  for (const v1::InlineFile& file : inline_files.files()) {
    L4D2_RETURN_IF_ERROR(ValidateInlineFile(file.path(), file.mode()));
    if (!seen.insert(file.path()).second) {
      return absl::InvalidArgumentError(absl::StrCat("file '", file.path(), "' given twice"));
    }
    total += file.content().size();
  }
  if (total > limits_.max_inline_bytes) {
    return absl::ResourceExhaustedError(
        absl::StrCat("overlay sync: inline files above ", limits_.max_inline_bytes, " bytes"));
  }
  std::error_code error;
  for (const v1::InlineFile& file : inline_files.files()) {
    fs::path target = fs::path(staging) / file.path();
    fs::create_directories(target.parent_path(), error);
    if (error) return ErrnoError(error.value(), "create directory for", file.path());
    L4D2_RETURN_IF_ERROR(WriteFileAtomically(target.string(), file.content(),
                                             file.mode() == 0 ? 0644 : file.mode()));
  }
  return absl::OkStatus();
}

absl::Status OverlayManager::FillFromWorkshop(const v1::WorkshopItems& workshop,
                                              const std::string& staging) const {
  if (fetcher_ == nullptr) {
    return absl::FailedPreconditionError("overlay sync: this agent has no web fetcher");
  }
  std::vector<uint64_t> ids(workshop.item_ids().begin(), workshop.item_ids().end());
  if (workshop.collection_ids_size() > 0) {
    std::vector<uint64_t> collections(workshop.collection_ids().begin(),
                                      workshop.collection_ids().end());
    L4D2_ASSIGN_OR_RETURN(
        std::string reply,
        fetcher_->PostForm(limits_.steam_web_api + kCollectionDetailsPath,
                           CollectionDetailsForm(collections), 16 << 20, absl::Minutes(1)));
    L4D2_ASSIGN_OR_RETURN(std::vector<uint64_t> children, ParseCollectionDetails(reply));
    ids.insert(ids.end(), children.begin(), children.end());
  }
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  if (ids.empty()) return absl::InvalidArgumentError("workshop: no items");
  if (static_cast<int>(ids.size()) > limits_.max_workshop_items) {
    return absl::ResourceExhaustedError(
        absl::StrCat("workshop: more than ", limits_.max_workshop_items, " items"));
  }
  L4D2_ASSIGN_OR_RETURN(
      std::string reply,
      fetcher_->PostForm(limits_.steam_web_api + kPublishedFileDetailsPath,
                         PublishedFileDetailsForm(ids), 64 << 20, absl::Minutes(1)));
  L4D2_ASSIGN_OR_RETURN(std::vector<WorkshopItem> items, ParsePublishedFileDetails(reply));
  absl::MutexLock lock(&workshop_mutex_);
  const std::string cache = layout_.overlays_dir() + "/.workshop-cache";
  const std::string addons = staging + "/left4dead2/addons";
  std::error_code error;
  fs::create_directories(cache, error);
  fs::create_directories(addons, error);
  if (error) return ErrnoError(error.value(), "create", addons);
  for (const WorkshopItem& item : items) {
    // One download per item version: unchanged items cost nothing on the next sync.
    const std::string cached = absl::StrCat(cache, "/", item.id, "-", item.time_updated, ".vpk");
    if (!fs::exists(cached, error)) {
      const std::string partial = cached + ".part";
      absl::StatusOr<uint64_t> size =
          fetcher_->Fetch(item.file_url, partial, limits_.max_archive_bytes, limits_.fetch_timeout);
      if (!size.ok()) {
        ::unlink(partial.c_str());
        return absl::Status(size.status().code(),
                            absl::StrCat("workshop item ", item.id, ": ", size.status().message()));
      }
      fs::rename(partial, cached, error);
      if (error) return ErrnoError(error.value(), "store", cached);
    }
    const std::string target = absl::StrCat(addons, "/", item.id, ".vpk");
    fs::create_hard_link(cached, target, error);
    if (error) {
      error.clear();
      fs::copy_file(cached, target, error);
      if (error) return ErrnoError(error.value(), "place", target);
    }
  }
  return absl::OkStatus();
}

absl::Status OverlayManager::FillFromArchive(const v1::Archive& archive,
                                             const std::string& operation,
                                             const std::string& staging) const {
  if (fetcher_ == nullptr || extractor_ == nullptr) {
    return absl::FailedPreconditionError("overlay sync: this agent has no archive fetcher");
  }
  if (!absl::StartsWith(archive.url(), "https://") && !absl::StartsWith(archive.url(), "http://")) {
    return absl::InvalidArgumentError("archive.url: http:// or https:// only");
  }
  const std::string expected = absl::AsciiStrToLower(archive.sha256());
  if (!IsSha256Hex(expected)) {
    return absl::InvalidArgumentError("archive.sha256: 64 hex digits required");
  }
  if (!archive.destination().empty())
    L4D2_RETURN_IF_ERROR(ValidateLayerPath(archive.destination()));
  if (archive.strip_components() > 16) {
    return absl::InvalidArgumentError("archive.strip_components: at most 16");
  }
  const std::string download = absl::StrCat(layout_.tmp_dir(), "/overlay-", operation, ".archive");
  auto cleanup = [&download] { ::unlink(download.c_str()); };
  absl::StatusOr<uint64_t> fetched =
      fetcher_->Fetch(archive.url(), download, limits_.max_archive_bytes, limits_.fetch_timeout);
  if (!fetched.ok()) {
    cleanup();
    return fetched.status();
  }
  absl::StatusOr<std::string> actual = Sha256OfFile(download);
  if (!actual.ok() || *actual != expected) {
    cleanup();
    return absl::FailedPreconditionError(
        absl::StrCat("archive.sha256 mismatch: expected ", expected, ", got ",
                     actual.ok() ? *actual : std::string(actual.status().message())));
  }
  const std::string destination =
      archive.destination().empty() ? staging : absl::StrCat(staging, "/", archive.destination());
  std::error_code error;
  fs::create_directories(destination, error);
  absl::StatusOr<uint64_t> files =
      extractor_->Extract(download, destination, archive.strip_components(),
                          {.max_bytes = limits_.max_extracted_bytes});
  cleanup();
  return files.status();
}

absl::Status OverlayManager::FillFromScript(const v1::Script& script, const std::string& staging,
                                            const LineSink& log) const {
  if (scripts_ == nullptr) {
    return absl::FailedPreconditionError("overlay sync: this agent has no script sandbox");
  }
  ScriptJob job{.source = script.source(),
                .workdir = staging,
                .timeout = limits_.default_script_timeout,
                .network = script.network()};
  if (script.has_timeout()) {
    job.timeout =
        absl::Seconds(script.timeout().seconds()) + absl::Nanoseconds(script.timeout().nanos());
  }
  L4D2_RETURN_IF_ERROR(scripts_->Run(
      job, log ? log : [](absl::string_view) {}));
  return ValidateLayerTree(staging, limits_.max_extracted_bytes);
}

void OverlayManager::PruneWorkshopCache() {
  absl::MutexLock lock(&workshop_mutex_);
  std::error_code error;
  for (const fs::directory_entry& entry :
       fs::directory_iterator(layout_.overlays_dir() + "/.workshop-cache", error)) {
    struct stat st;
    // Downloads in progress hold the lock: a ".part" now is one a crash left.
    if (::lstat(entry.path().c_str(), &st) == 0 && S_ISREG(st.st_mode) && st.st_nlink == 1) {
      ::unlink(entry.path().c_str());
    }
  }
}

absl::StatusOr<v1::OverlaySyncResult> OverlayManager::Sync(const v1::SyncOverlayRequest& request,
                                                           const std::string& operation_id,
                                                           const LineSink& log) {
  L4D2_RETURN_IF_ERROR(ValidateOverlayRef(request.ref()));
  if (request.source_case() == v1::SyncOverlayRequest::SOURCE_NOT_SET) {
    return absl::InvalidArgumentError("overlay sync: no source given");
  }
  if (request.has_script()) {
    const v1::Script& script = request.script();
    if (script.source().empty() || script.source().size() > limits_.max_inline_bytes ||
        script.source().find('\0') != std::string::npos) {
      return absl::InvalidArgumentError(absl::StrCat(
          "script.source: 1 to ", limits_.max_inline_bytes, " bytes of text without NUL"));
    }
    if (script.has_timeout()) {
      const absl::Duration timeout =
          absl::Seconds(script.timeout().seconds()) + absl::Nanoseconds(script.timeout().nanos());
      if (timeout <= absl::ZeroDuration() || timeout > limits_.max_script_timeout) {
        return absl::InvalidArgumentError(
            absl::StrCat("script.timeout: above 0 and at most ",
                         absl::FormatDuration(limits_.max_script_timeout)));
      }
    }
  }
  std::string safe_id;
  for (char c : operation_id) {
    safe_id.push_back(std::isalnum(static_cast<unsigned char>(c)) ? c : '_');
  }
  const std::string base = layout_.overlay_dir(request.ref());
  const std::string staging = absl::StrCat(base, "/.staging-", safe_id);
  std::error_code error;
  fs::remove_all(staging, error);
  auto fail = [&](absl::Status status) {
    fs::remove_all(staging, error);
    // An overlay that never got a version leaves no directory behind.
    if (CurrentVersion(base) == 0) fs::remove(base, error);
    return status;
  };
  // Checks that need no disk come first, inside the fill functions; a failure removes all.
  fs::create_directories(staging, error);
  if (error) return ErrnoError(error.value(), "create", staging);
  absl::Status filled = request.source_case() == v1::SyncOverlayRequest::kInlineFiles
                            ? FillFromInlineFiles(request.inline_files(), staging)
                        : request.source_case() == v1::SyncOverlayRequest::kWorkshop
                            ? FillFromWorkshop(request.workshop(), staging)
                        : request.source_case() == v1::SyncOverlayRequest::kArchive
                            ? FillFromArchive(request.archive(), safe_id, staging)
                            : FillFromScript(request.script(), staging, log);
  if (!filled.ok()) return fail(filled);

  v1::OverlaySyncResult result;
  result.set_ref(request.ref());
  const int current = CurrentVersion(base);
  if (current > 0 && SameTree(staging, absl::StrCat(base, "/", current))) {
    fs::remove_all(staging, error);
    result.set_version(std::to_string(current));
    result.set_changed(false);
  } else {
    std::vector<int> versions = Versions(base);
    const int next = versions.empty() ? 1 : versions.back() + 1;
    const std::string target = absl::StrCat(base, "/", next);
    fs::rename(staging, target, error);
    if (error) return fail(ErrnoError(error.value(), "rename the new version to", target));
    CrashPoint("sync.before_switch");
    const std::string link = base + "/current";
    const std::string temp = link + ".tmp";
    ::unlink(temp.c_str());
    if (::symlink(std::to_string(next).c_str(), temp.c_str()) != 0 ||
        ::rename(temp.c_str(), link.c_str()) != 0) {
      return ErrnoError(errno, "switch", link);
    }
    result.set_version(std::to_string(next));
    result.set_changed(true);
    // Versions neither current nor pinned by an instance go.
    const auto pinned = pinned_();
    for (int version : versions) {
      if (pinned.count(absl::StrCat(request.ref(), "/", version)) == 0) {
        fs::remove_all(absl::StrCat(base, "/", version), error);
      }
    }
  }
  PruneWorkshopCache();
  uint64_t files = 0;
  result.set_size_bytes(TreeSize(absl::StrCat(base, "/", result.version()), &files));
  result.set_file_count(files);
  return result;
}

absl::StatusOr<v1::ListOverlaysResponse> OverlayManager::List() const {
  v1::ListOverlaysResponse response;
  const auto pinned = pinned_();
  std::error_code error;
  // One directory per ref (HostLayout::overlay_dir) with a `current` link; others (the
  // Workshop cache) are not overlays.
  for (const fs::directory_entry& entry : fs::directory_iterator(layout_.overlays_dir(), error)) {
    absl::StatusOr<std::string> ref = OverlayRefOfDirectory(entry.path().filename().string());
    const fs::path base = entry.path();
    const fs::path link = base / "current";
    if (!ref.ok() || !fs::is_symlink(link, error)) continue;
    v1::Overlay* overlay = response.add_overlays();
    overlay->set_ref(*ref);
    overlay->set_current_version(std::to_string(CurrentVersion(base.string())));
    for (int version : Versions(base.string())) {
      overlay->add_versions(std::to_string(version));
      auto users = pinned.find(absl::StrCat(*ref, "/", version));
      if (users == pinned.end()) continue;
      for (const std::string& instance : users->second) {
        overlay->add_used_by(absl::StrCat(instance, "@", version));
      }
    }
    uint64_t files = 0;
    overlay->set_size_bytes(TreeSize(base / overlay->current_version(), &files));
    struct stat st;
    if (::lstat(link.c_str(), &st) == 0) overlay->mutable_updated_at()->set_seconds(st.st_mtime);
  }
  std::sort(response.mutable_overlays()->begin(), response.mutable_overlays()->end(),
            [](const v1::Overlay& a, const v1::Overlay& b) { return a.ref() < b.ref(); });
  return response;
}

}  // namespace l4d2::agent
