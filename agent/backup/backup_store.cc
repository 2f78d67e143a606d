#include "agent/backup/backup_store.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <memory>
#include <random>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/file_util.h"
#include "common/logging.h"
#include "common/names.h"
#include "common/sha256.h"
#include "common/status_macros.h"
#include "rpc/proto_time.h"

namespace l4d2::agent {
namespace {

namespace fs = std::filesystem;

constexpr char kArchiveSuffix[] = ".tar.zst";
constexpr char kRecordSuffix[] = ".binpb";
constexpr char kLayerPrefix[] = "upper/";
constexpr char kRecordEntry[] = "instance.binpb";

struct ReadFree {
  void operator()(struct archive* a) const { archive_read_free(a); }
};
struct WriteFree {
  void operator()(struct archive* a) const { archive_write_free(a); }
};
struct EntryFree {
  void operator()(struct archive_entry* e) const { archive_entry_free(e); }
};

absl::Status ArchiveError(struct archive* a, absl::string_view what) {
  const char* message = archive_error_string(a);
  return absl::InternalError(
      absl::StrCat("backup archive: ", what, ": ", message != nullptr ? message : "unknown error"));
}

// One entry of a writable layer as it was while the server was paused.
struct LayerEntry {
  std::string path;  // relative to the layer
  struct stat info;
  std::string link_target;                                  // symlinks
  std::vector<std::pair<std::string, std::string>> xattrs;  // trusted.overlay.* and user.*
  std::string snapshot;                                     // regular files: the hard link
};

// The overlayfs attributes of `path` (opaque directories, redirects) and user ones; those the
// agent may not read (trusted.* without CAP_SYS_ADMIN) are left out.
std::vector<std::pair<std::string, std::string>> ReadXattrs(const std::string& path) {
  std::vector<std::pair<std::string, std::string>> xattrs;
  char names[4096];
  const ssize_t length = ::llistxattr(path.c_str(), names, sizeof(names));
  for (ssize_t at = 0; length > 0 && at < length;) {
    const std::string name(names + at);
    at += static_cast<ssize_t>(name.size()) + 1;
    if (!absl::StartsWith(name, "trusted.overlay.") && !absl::StartsWith(name, "user.")) continue;
    char value[4096];
    const ssize_t size = ::lgetxattr(path.c_str(), name.c_str(), value, sizeof(value));
    if (size >= 0) xattrs.emplace_back(name, std::string(value, static_cast<size_t>(size)));
  }
  return xattrs;
}

// Every entry below `layer`, regular files hard-linked (copied across filesystems) into
// `snapshot` as 0, 1, 2, ...: what Take does while the server is paused.
absl::StatusOr<std::vector<LayerEntry>> SnapshotLayer(const std::string& layer,
                                                      const std::string& snapshot) {
  std::vector<LayerEntry> entries;
  std::error_code error;
  if (!fs::exists(layer, error)) return entries;  // never started: an empty layer
  for (auto it = fs::recursive_directory_iterator(layer, error);
       !error && it != fs::recursive_directory_iterator(); it.increment(error)) {
    const std::string path = it->path().string();
    LayerEntry entry{.path = it->path().lexically_relative(layer).string()};
    if (::lstat(path.c_str(), &entry.info) != 0) {
      if (errno == ENOENT) continue;  // removed just before the pause reached it
      return ErrnoError(errno, "stat", path);
    }
    const mode_t type = entry.info.st_mode & S_IFMT;
    if (type == S_IFREG) {
      entry.snapshot = absl::StrCat(snapshot, "/", entries.size());
      if (::link(path.c_str(), entry.snapshot.c_str()) != 0) {
        if (errno != EXDEV) return ErrnoError(errno, "link", path);
        fs::copy_file(it->path(), entry.snapshot, error);
        if (error) return ErrnoError(error.value(), "copy", path);
      }
    } else if (type == S_IFLNK) {
      std::error_code link_error;
      entry.link_target = fs::read_symlink(it->path(), link_error).string();
      if (link_error) return ErrnoError(link_error.value(), "readlink", path);
    } else if (type != S_IFDIR && !(type == S_IFCHR && entry.info.st_rdev == makedev(0, 0))) {
      continue;  // sockets, fifos, devices: nothing a game's layer needs again
    }
    entry.xattrs = ReadXattrs(path);
    entries.push_back(std::move(entry));
  }
  if (error) return ErrnoError(error.value(), "walk", layer);
  return entries;
}

// Where libarchive's output goes: the archive file, hashed and counted on the way.
struct Sink {
  int fd = -1;
  std::string path;
  Sha256 digest;
  uint64_t bytes = 0;
  absl::Status error;
};

la_ssize_t WriteToSink(struct archive*, void* data, const void* buffer, size_t length) {
  Sink& sink = *static_cast<Sink*>(data);
  const absl::string_view block(static_cast<const char*>(buffer), length);
  sink.error = WriteFully(sink.fd, block, sink.path);
  if (!sink.error.ok()) return -1;
  sink.digest.Update(block);
  sink.bytes += length;
  return static_cast<la_ssize_t>(length);
}

struct Written {
  uint64_t content_bytes = 0;
  uint64_t files = 0;
};

// Writes the archive of `record` and the snapshot `entries` to `sink`.
absl::StatusOr<Written> WriteArchive(const std::string& record,
                                     const std::vector<LayerEntry>& entries, Sink& sink,
                                     int level) {
  std::unique_ptr<struct archive, WriteFree> writer(archive_write_new());
  archive_write_set_format_pax_restricted(writer.get());
  if (archive_write_add_filter_zstd(writer.get()) != ARCHIVE_OK) {
    return ArchiveError(writer.get(), "zstd");
  }
  archive_write_set_filter_option(writer.get(), "zstd", "compression-level",
                                  std::to_string(level).c_str());
  archive_write_set_bytes_in_last_block(writer.get(), 1);
  if (archive_write_open(writer.get(), &sink, nullptr, WriteToSink, nullptr) != ARCHIVE_OK) {
    return ArchiveError(writer.get(), "open");
  }
  std::unique_ptr<struct archive_entry, EntryFree> entry(archive_entry_new());
  archive_entry_set_pathname(entry.get(), kRecordEntry);
  archive_entry_set_filetype(entry.get(), AE_IFREG);
  archive_entry_set_perm(entry.get(), 0600);
  archive_entry_set_size(entry.get(), static_cast<la_int64_t>(record.size()));
  if (archive_write_header(writer.get(), entry.get()) != ARCHIVE_OK ||
      archive_write_data(writer.get(), record.data(), record.size()) < 0) {
    return ArchiveError(writer.get(), "write the instance record");
  }
  Written written;
  std::vector<char> buffer(1 << 20);
  for (const LayerEntry& layer_entry : entries) {
    archive_entry_clear(entry.get());
    archive_entry_copy_stat(entry.get(), &layer_entry.info);
    archive_entry_set_pathname(entry.get(), (kLayerPrefix + layer_entry.path).c_str());
    archive_entry_set_nlink(entry.get(), 1);
    if (!layer_entry.link_target.empty()) {
      archive_entry_set_symlink(entry.get(), layer_entry.link_target.c_str());
    }
    for (const auto& [name, value] : layer_entry.xattrs) {
      archive_entry_xattr_add_entry(entry.get(), name.c_str(), value.data(), value.size());
    }
    if (archive_write_header(writer.get(), entry.get()) != ARCHIVE_OK) {
      return ArchiveError(writer.get(), absl::StrCat("write ", layer_entry.path));
    }
    ++written.files;
    if (layer_entry.snapshot.empty()) continue;
    UniqueFd fd(::open(layer_entry.snapshot.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.get() < 0) return ErrnoError(errno, "open", layer_entry.snapshot);
    // Cut at the length it had while paused; padded should it have shrunk since (the header
    // promised that length).
    uint64_t left = static_cast<uint64_t>(layer_entry.info.st_size);
    while (left > 0) {
      L4D2_ASSIGN_OR_RETURN(
          size_t n, ReadSome(fd.get(), buffer.data(), std::min<uint64_t>(left, buffer.size()),
                             layer_entry.snapshot));
      if (n == 0) {
        n = std::min<uint64_t>(left, buffer.size());
        std::fill_n(buffer.begin(), n, '\0');
      }
      if (archive_write_data(writer.get(), buffer.data(), n) < 0) {
        return ArchiveError(writer.get(), absl::StrCat("write ", layer_entry.path));
      }
      left -= static_cast<uint64_t>(n);
      written.content_bytes += static_cast<uint64_t>(n);
    }
  }
  if (archive_write_close(writer.get()) != ARCHIVE_OK) {
    if (!sink.error.ok()) return sink.error;
    return ArchiveError(writer.get(), "close");
  }
  return written;
}

// Where libarchive reads an archive from: its file, hashed on the way.
struct Source {
  UniqueFd fd;
  std::string path;
  Sha256 digest;
  std::vector<char> buffer = std::vector<char>(1 << 20);
  absl::Status error;

  // The next block of the file, hashed.
  absl::StatusOr<absl::string_view> Next() {
    L4D2_ASSIGN_OR_RETURN(size_t n, ReadSome(fd.get(), buffer.data(), buffer.size(), path));
    const absl::string_view block(buffer.data(), n);
    digest.Update(block);
    return block;
  }
  // Hashes what is left of the file.
  absl::Status Drain() {
    while (true) {
      L4D2_ASSIGN_OR_RETURN(absl::string_view block, Next());
      if (block.empty()) return absl::OkStatus();
    }
  }
};

la_ssize_t ReadFromSource(struct archive*, void* data, const void** block) {
  Source& source = *static_cast<Source*>(data);
  absl::StatusOr<absl::string_view> next = source.Next();
  if (!next.ok()) {
    source.error = next.status();
    return -1;
  }
  *block = next->data();
  return static_cast<la_ssize_t>(next->size());
}

// Extracts the writable layer of the archive `source` reads into the directory `root`, each
// entry checked: a relative path without "..", a file, directory, symlink or whiteout.
absl::Status Extract(Source& source, const std::string& root) {
  std::unique_ptr<struct archive, ReadFree> reader(archive_read_new());
  archive_read_support_filter_zstd(reader.get());
  archive_read_support_format_tar(reader.get());
  if (archive_read_open(reader.get(), &source, nullptr, ReadFromSource, nullptr) != ARCHIVE_OK) {
    return ArchiveError(reader.get(), "open");
  }
  std::unique_ptr<struct archive, WriteFree> writer(archive_write_disk_new());
  // Entry names are checked below and joined to our own directory; no ".." and no writing
  // through symlinks stay on as a second line.
  archive_write_disk_set_options(
      writer.get(), ARCHIVE_EXTRACT_SECURE_NODOTDOT | ARCHIVE_EXTRACT_SECURE_SYMLINKS |
                        ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_XATTR);
  struct archive_entry* entry = nullptr;
  while (true) {
    const int result = archive_read_next_header(reader.get(), &entry);
    if (result == ARCHIVE_EOF) break;
    if (result != ARCHIVE_OK) return ArchiveError(reader.get(), "read");
    const std::string path = archive_entry_pathname(entry);
    if (!absl::StartsWith(path, kLayerPrefix)) continue;  // the instance record
    const std::string relative(absl::StripPrefix(path, kLayerPrefix));
    const mode_t type = archive_entry_filetype(entry);
    const bool whiteout = type == AE_IFCHR && archive_entry_rdev(entry) == 0;
    const std::vector<absl::string_view> parts = absl::StrSplit(relative, '/');
    const bool climbs = std::any_of(parts.begin(), parts.end(),
                                    [](absl::string_view part) { return part == ".."; });
    if (relative.empty() || relative.front() == '/' || climbs ||
        archive_entry_hardlink(entry) != nullptr ||
        (type != AE_IFREG && type != AE_IFDIR && type != AE_IFLNK && !whiteout)) {
      return absl::InvalidArgumentError(absl::StrCat("backup archive: entry '", path, "' refused"));
    }
    archive_entry_set_pathname(entry, (root + "/" + relative).c_str());
    if (archive_write_header(writer.get(), entry) != ARCHIVE_OK) {
      return ArchiveError(writer.get(), absl::StrCat("extract ", relative));
    }
    const void* block = nullptr;
    size_t size = 0;
    la_int64_t offset = 0;
    int read = ARCHIVE_OK;
    while ((read = archive_read_data_block(reader.get(), &block, &size, &offset)) == ARCHIVE_OK) {
      if (archive_write_data_block(writer.get(), block, size, offset) != ARCHIVE_OK) {
        return ArchiveError(writer.get(), absl::StrCat("extract ", relative));
      }
    }
    if (read != ARCHIVE_EOF) return ArchiveError(reader.get(), absl::StrCat("read ", relative));
    if (archive_write_finish_entry(writer.get()) != ARCHIVE_OK) {
      return ArchiveError(writer.get(), absl::StrCat("extract ", relative));
    }
  }
  if (archive_write_close(writer.get()) != ARCHIVE_OK) {
    return ArchiveError(writer.get(), "finish");
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::Backup> ReadRecord(const std::string& path) {
  L4D2_ASSIGN_OR_RETURN(std::string bytes, ReadFileToString(path));
  v1::Backup backup;
  if (!backup.ParseFromString(bytes)) {
    return absl::DataLossError(absl::StrCat("corrupt backup record '", path, "'"));
  }
  return backup;
}

}  // namespace

absl::Status ValidateBackupId(const std::string& id) {
  // 20261204T191500Z-1a2b3c4d
  const bool valid = id.size() == 25 && id[8] == 'T' && id[15] == 'Z' && id[16] == '-' &&
                     std::all_of(id.begin(), id.begin() + 8, ::isdigit) &&
                     std::all_of(id.begin() + 9, id.begin() + 15, ::isdigit) &&
                     std::all_of(id.begin() + 17, id.end(),
                                 [](char c) { return std::isxdigit(c) && !std::isupper(c); });
  if (!valid) {
    return absl::InvalidArgumentError(
        absl::StrCat("backup id '", id.substr(0, 40), "': <yyyymmdd>T<hhmmss>Z-<8 hex> expected"));
  }
  return absl::OkStatus();
}

BackupStore::BackupStore(HostLayout layout, ServiceManager& systemd, InstanceManager& instances,
                         Clock& clock, BackupStoreOptions options)
    : layout_(std::move(layout)),
      systemd_(systemd),
      instances_(instances),
      clock_(clock),
      options_(options) {}

std::string BackupStore::Dir(const std::string& name) const {
  return layout_.backups_dir() + "/" + name;
}
std::string BackupStore::ArchivePath(const std::string& name, const std::string& id) const {
  return absl::StrCat(Dir(name), "/", id, kArchiveSuffix);
}
std::string BackupStore::RecordPath(const std::string& name, const std::string& id) const {
  return absl::StrCat(Dir(name), "/", id, kRecordSuffix);
}

std::string BackupStore::NewId() {
  std::random_device random;
  return absl::StrCat(absl::FormatTime("%Y%m%dT%H%M%SZ", clock_.Now(), absl::UTCTimeZone()), "-",
                      absl::StrFormat("%08x", random()));
}

namespace {

// What an agent stopped in the middle of a backup or a copy left in an instance's backups
// directory: snapshots (hard links keeping replaced files' blocks) and partial archives, which
// only Take makes and the instance's lock lets one Take at a time; copies received in part
// and abandoned for a day (a copy going on touches its file with every part).
void RemoveLeftovers(const std::string& dir) {
  std::error_code error;
  for (auto it = fs::directory_iterator(dir, error); !error && it != fs::directory_iterator();
       it.increment(error)) {
    const std::string file = it->path().filename().string();
    if (absl::StartsWith(file, ".snapshot-") || absl::StartsWith(file, ".partial-") ||
        (absl::StartsWith(file, ".incoming-") &&
         WrittenLongerAgoThan(it->path(), absl::Hours(24)))) {
      std::error_code ignored;
      L4D2_LOG(INFO) << "backups: removing the leftover " << it->path().string();
      fs::remove_all(it->path(), ignored);
    }
  }
}

}  // namespace

absl::StatusOr<v1::BackupInstanceResponse> BackupStore::Take(const std::string& name,
                                                             const BackupRetention& retention) {
  L4D2_RETURN_IF_ERROR(ValidateInstanceName(name));
  L4D2_ASSIGN_OR_RETURN(internal::InstanceRecord record, instances_.Record(name));
  const absl::Time started = clock_.Now();
  const std::string id = NewId();
  const std::string dir = Dir(name);
  std::error_code error;
  fs::create_directories(dir, error);
  if (error) return ErrnoError(error.value(), "create directory", dir);
  RemoveLeftovers(dir);
  const std::string snapshot = absl::StrCat(dir, "/.snapshot-", id);
  const std::string partial = absl::StrCat(dir, "/.partial-", id);
  absl::Cleanup clean_up = [&] {
    std::error_code ignored;
    fs::remove_all(snapshot, ignored);
    fs::remove(partial, ignored);
  };
  if (::mkdir(snapshot.c_str(), 0700) != 0) return ErrnoError(errno, "mkdir", snapshot);

  // The snapshot, the server paused meanwhile.
  L4D2_ASSIGN_OR_RETURN(bool running, instances_.Running(name));
  const std::string unit = instances_.UnitOf(name);
  absl::Duration paused = absl::ZeroDuration();
  absl::StatusOr<std::vector<LayerEntry>> entries;
  if (running) {
    L4D2_RETURN_IF_ERROR(systemd_.Signal(unit, SIGSTOP));
    const absl::Time pause = absl::Now();
    entries = SnapshotLayer(instances_.WritableLayer(name), snapshot);
    absl::Status resumed = systemd_.Signal(unit, SIGCONT);
    paused = absl::Now() - pause;
    if (!resumed.ok()) {
      L4D2_LOG(ERROR) << "backup of '" << name
                      << "': the server could not be resumed: " << resumed.message();
      return resumed;
    }
  } else {
    entries = SnapshotLayer(instances_.WritableLayer(name), snapshot);
  }
  if (!entries.ok()) return entries.status();

  Sink sink;
  UniqueFd fd(::open(partial.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (fd.get() < 0) return ErrnoError(errno, "create", partial);
  sink.fd = fd.get();
  sink.path = partial;
  L4D2_ASSIGN_OR_RETURN(Written written, WriteArchive(record.SerializeAsString(), *entries, sink,
                                                      options_.zstd_level));
  if (::fsync(fd.get()) != 0) return ErrnoError(errno, "fsync", partial);
  if (::rename(partial.c_str(), ArchivePath(name, id).c_str()) != 0) {
    return ErrnoError(errno, "rename", partial);
  }

  v1::BackupInstanceResponse response;
  v1::Backup& backup = *response.mutable_backup();
  backup.set_id(id);
  backup.set_name(name);
  *backup.mutable_created_at() = TimestampOf(started);
  backup.set_size_bytes(sink.bytes);
  backup.set_content_bytes(written.content_bytes);
  backup.set_files(written.files);
  backup.set_sha256(sink.digest.HexDigest());
  *backup.mutable_paused() = ProtoDurationOf(paused);
  *backup.mutable_took() = ProtoDurationOf(clock_.Now() - started);
  *backup.mutable_spec() = record.spec();
  backup.set_build_id(record.build_id());
  *backup.mutable_layers() = record.layers();
  L4D2_RETURN_IF_ERROR(WriteFileAtomically(RecordPath(name, id), backup.SerializeAsString(), 0600));
  L4D2_ASSIGN_OR_RETURN(std::vector<std::string> pruned, Prune(name, retention, id));
  for (std::string& gone : pruned) response.add_pruned(std::move(gone));
  L4D2_LOG(INFO) << "backup " << id << " of '" << name << "': " << written.files << " entries, "
                 << written.content_bytes << " bytes in " << sink.bytes << " (paused "
                 << absl::FormatDuration(paused) << ")";
  return response;
}

absl::StatusOr<std::vector<std::string>> BackupStore::Prune(const std::string& name,
                                                            const BackupRetention& retention,
                                                            const std::string& kept) {
  L4D2_ASSIGN_OR_RETURN(std::vector<v1::Backup> backups, List(name));
  std::vector<std::string> pruned;
  const absl::Time now = clock_.Now();
  const size_t keep = retention.keep == 0 ? backups.size() : retention.keep;
  for (size_t i = 0; i < backups.size(); ++i) {
    const v1::Backup& backup = backups[i];
    if (backup.id() == kept) continue;
    const bool beyond_count = backups.size() - i > keep;  // oldest first
    const bool too_old = retention.keep_for != absl::InfiniteDuration() &&
                         TimeOf(backup.created_at()) < now - retention.keep_for;
    if (!beyond_count && !too_old) continue;
    L4D2_RETURN_IF_ERROR(Delete(name, backup.id()).status());
    pruned.push_back(backup.id());
  }
  return pruned;
}

absl::StatusOr<std::vector<v1::Backup>> BackupStore::List(const std::string& name) {
  std::vector<std::string> names;
  std::error_code error;
  if (!name.empty()) {
    L4D2_RETURN_IF_ERROR(ValidateInstanceName(name));
    names.push_back(name);
  } else {
    for (auto it = fs::directory_iterator(layout_.backups_dir(), error);
         !error && it != fs::directory_iterator(); it.increment(error)) {
      if (it->is_directory()) names.push_back(it->path().filename().string());
    }
  }
  std::vector<v1::Backup> backups;
  for (const std::string& instance : names) {
    for (auto it = fs::directory_iterator(Dir(instance), error);
         !error && it != fs::directory_iterator(); it.increment(error)) {
      const std::string file = it->path().filename().string();
      if (file.front() == '.' || !absl::EndsWith(file, kRecordSuffix)) continue;
      absl::StatusOr<v1::Backup> backup = ReadRecord(it->path().string());
      if (!backup.ok()) {
        L4D2_LOG(WARNING) << backup.status().message();
        continue;
      }
      backups.push_back(*std::move(backup));
    }
    error.clear();  // an instance without backups has no directory
  }
  std::sort(backups.begin(), backups.end(), [](const v1::Backup& a, const v1::Backup& b) {
    return std::tie(a.id(), a.name()) < std::tie(b.id(), b.name());
  });
  return backups;
}

absl::StatusOr<v1::Backup> BackupStore::Get(const std::string& name, const std::string& id) {
  L4D2_RETURN_IF_ERROR(ValidateInstanceName(name));
  L4D2_RETURN_IF_ERROR(ValidateBackupId(id));
  std::error_code error;
  if (!fs::exists(RecordPath(name, id), error)) {
    return absl::NotFoundError(absl::StrCat("no backup '", id, "' of '", name, "'"));
  }
  return ReadRecord(RecordPath(name, id));
}

absl::StatusOr<bool> BackupStore::Delete(const std::string& name, const std::string& id) {
  L4D2_RETURN_IF_ERROR(ValidateInstanceName(name));
  L4D2_RETURN_IF_ERROR(ValidateBackupId(id));
  std::error_code error;
  // The record first: an archive without one is never listed.
  const bool existed = fs::remove(RecordPath(name, id), error);
  if (error) return ErrnoError(error.value(), "remove", RecordPath(name, id));
  fs::remove(ArchivePath(name, id), error);
  if (error) return ErrnoError(error.value(), "remove", ArchivePath(name, id));
  return existed;
}

absl::StatusOr<v1::BackupChunk> BackupStore::Read(const std::string& name, const std::string& id,
                                                  uint64_t offset, uint32_t max_bytes) {
  L4D2_ASSIGN_OR_RETURN(v1::Backup backup, Get(name, id));
  if (max_bytes == 0) max_bytes = 1 << 20;
  if (max_bytes > (4u << 20)) return absl::InvalidArgumentError("max_bytes: at most 4 MiB");
  if (offset > backup.size_bytes()) {
    return absl::OutOfRangeError(
        absl::StrCat("offset ", offset, " beyond the archive's ", backup.size_bytes(), " bytes"));
  }
  const std::string path = ArchivePath(name, id);
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return ErrnoError(errno, "open", path);
  v1::BackupChunk chunk;
  chunk.set_size_bytes(backup.size_bytes());
  std::string& data = *chunk.mutable_data();
  data.resize(std::min<uint64_t>(max_bytes, backup.size_bytes() - offset));
  L4D2_RETURN_IF_ERROR(ReadFullyAt(fd.get(), data.data(), data.size(), offset, path));
  return chunk;
}

absl::StatusOr<v1::WriteBackupResponse> BackupStore::Write(const v1::WriteBackupRequest& request) {
  const std::string& name = request.name();
  const v1::Backup& backup = request.backup();
  L4D2_RETURN_IF_ERROR(ValidateInstanceName(name));
  L4D2_RETURN_IF_ERROR(ValidateBackupId(backup.id()));
  if (!IsSha256Hex(backup.sha256())) {
    return absl::InvalidArgumentError("backup.sha256: 64 lowercase hex digits expected");
  }
  v1::WriteBackupResponse response;
  std::error_code error;
  if (fs::exists(RecordPath(name, backup.id()), error)) {  // a retry after the last part
    response.set_received_bytes(backup.size_bytes());
    response.set_complete(true);
    return response;
  }
  fs::create_directories(Dir(name), error);
  if (error) return ErrnoError(error.value(), "create directory", Dir(name));
  const std::string incoming = absl::StrCat(Dir(name), "/.incoming-", backup.id());
  UniqueFd fd(::open(incoming.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (fd.get() < 0) return ErrnoError(errno, "open", incoming);
  struct stat info;
  if (::fstat(fd.get(), &info) != 0) return ErrnoError(errno, "stat", incoming);
  const uint64_t have = static_cast<uint64_t>(info.st_size);
  const std::string& data = request.data();
  if (request.offset() + data.size() > backup.size_bytes()) {
    return absl::InvalidArgumentError("data: beyond the backup's size_bytes");
  }
  if (request.offset() == have) {
    L4D2_RETURN_IF_ERROR(WriteFullyAt(fd.get(), data, have, incoming));
  } else if (request.offset() + data.size() > have) {
    return absl::FailedPreconditionError(
        absl::StrCat("offset ", request.offset(), ": ", have, " bytes received so far"));
  }  // else a part received before, sent again: kept as received
  response.set_received_bytes(std::max<uint64_t>(have, request.offset() + data.size()));
  if (!request.last()) return response;
  if (response.received_bytes() != backup.size_bytes()) {
    return absl::FailedPreconditionError(absl::StrCat("the last part ends at ",
                                                      response.received_bytes(), " of ",
                                                      backup.size_bytes(), " bytes"));
  }
  if (::fsync(fd.get()) != 0) return ErrnoError(errno, "fsync", incoming);
  L4D2_ASSIGN_OR_RETURN(std::string sha256, Sha256OfFile(incoming));
  if (sha256 != backup.sha256()) {
    fs::remove(incoming, error);
    return absl::DataLossError(
        absl::StrCat("the copy of backup ", backup.id(), " does not match its SHA-256: discarded"));
  }
  if (::rename(incoming.c_str(), ArchivePath(name, backup.id()).c_str()) != 0) {
    return ErrnoError(errno, "rename", incoming);
  }
  v1::Backup copy = backup;
  copy.set_name(name);
  L4D2_RETURN_IF_ERROR(
      WriteFileAtomically(RecordPath(name, backup.id()), copy.SerializeAsString(), 0600));
  response.set_complete(true);
  return response;
}

absl::Status BackupStore::Restore(const std::string& name, const std::string& id) {
  L4D2_ASSIGN_OR_RETURN(v1::Backup backup, Get(name, id));
  L4D2_ASSIGN_OR_RETURN(bool running, instances_.Running(name));
  if (running) {
    return absl::FailedPreconditionError(
        absl::StrCat("instance '", name, "' runs: stop it before restoring a backup"));
  }
  const std::string archive = ArchivePath(name, id);
  // Extracted next to the layer (same filesystem: put in place by a rename) while the archive
  // is hashed on its one read; swapped in only once the whole file matched its SHA-256.
  const std::string layer = instances_.WritableLayer(name);
  const std::string restored = layer + ".restore-" + id;
  std::error_code error;
  fs::remove_all(restored, error);
  fs::create_directories(restored, error);
  if (error) return ErrnoError(error.value(), "create directory", restored);
  absl::Cleanup clean_up = [&] {
    std::error_code ignored;
    fs::remove_all(restored, ignored);
  };
  const std::string root = fs::canonical(restored, error).string();
  if (error) return ErrnoError(error.value(), "resolve", restored);

  Source source;
  source.fd = UniqueFd(::open(archive.c_str(), O_RDONLY | O_CLOEXEC));
  if (source.fd.get() < 0) return ErrnoError(errno, "open", archive);
  source.path = archive;
  absl::Status extracted = Extract(source, root);
  if (!source.error.ok()) extracted = source.error;  // the file, not the archive, failed
  // The whole file counts, what the archive reader left unread (the last block's end) too; a
  // damaged archive is told as such, not as the extraction error it caused.
  L4D2_RETURN_IF_ERROR(source.Drain());
  const std::string sha256 = source.digest.HexDigest();
  if (sha256 != backup.sha256()) {
    return absl::InvalidArgumentError(
        absl::StrCat("backup ", id, " of '", name, "': the archive does not match its SHA-256 (",
                     sha256, ", recorded ", backup.sha256(), "): not restored, nothing changed"));
  }
  L4D2_RETURN_IF_ERROR(extracted);
  L4D2_RETURN_IF_ERROR(instances_.ReplaceWritableLayer(name, restored));
  std::move(clean_up).Cancel();
  L4D2_LOG(INFO) << "backup " << id << " restored into '" << name << "'";
  return absl::OkStatus();
}

}  // namespace l4d2::agent
