#include "agent/fetch/archive.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/file_util.h"
#include "common/names.h"
#include "common/status_macros.h"

namespace l4d2::agent {
namespace {

struct ReadCloser {
  void operator()(struct archive* a) const { archive_read_free(a); }
};
struct WriteCloser {
  void operator()(struct archive* a) const { archive_write_free(a); }
};

absl::Status ArchiveError(struct archive* a, absl::string_view what) {
  const char* message = archive_error_string(a);
  return absl::InvalidArgumentError(
      absl::StrCat("archive: ", what, ": ", message != nullptr ? message : "unknown error"));
}

}  // namespace

absl::StatusOr<uint64_t> ExtractArchive(const std::string& path, const std::string& destination,
                                        uint32_t strip_components, const ExtractLimits& limits) {
  std::unique_ptr<struct archive, ReadCloser> reader(archive_read_new());
  archive_read_support_filter_gzip(reader.get());
  archive_read_support_format_tar(reader.get());
  archive_read_support_format_zip(reader.get());
  if (archive_read_open_filename(reader.get(), path.c_str(), 64 * 1024) != ARCHIVE_OK) {
    return ArchiveError(reader.get(), "cannot open");
  }
  std::unique_ptr<struct archive, WriteCloser> writer(archive_write_disk_new());
  // Entry names are validated as relative layer paths below and joined to our own destination,
  // so the absolute-path check would only refuse that prefix; no ".." and no writing through
  // symlinks stay on as a second line.
  archive_write_disk_set_options(writer.get(), ARCHIVE_EXTRACT_SECURE_NODOTDOT |
                                                   ARCHIVE_EXTRACT_SECURE_SYMLINKS |
                                                   ARCHIVE_EXTRACT_PERM);
  uint64_t files = 0;
  uint64_t entries = 0;
  uint64_t declared = 0;
  uint64_t written = 0;
  struct archive_entry* entry = nullptr;
  while (true) {
    int result = archive_read_next_header(reader.get(), &entry);
    if (result == ARCHIVE_EOF) break;
    if (result != ARCHIVE_OK) return ArchiveError(reader.get(), "cannot read an entry");
    if (++entries > limits.max_entries) {
      return absl::ResourceExhaustedError(
          absl::StrCat("archive: more than ", limits.max_entries, " entries"));
    }
    const char* raw_name = archive_entry_pathname(entry);
    std::string name = raw_name != nullptr ? raw_name : "";
    const std::string shown = absl::CHexEscape(name.substr(0, 120));
    const mode_t type = archive_entry_filetype(entry);
    if (archive_entry_hardlink(entry) != nullptr || (type != AE_IFREG && type != AE_IFDIR)) {
      return absl::InvalidArgumentError(
          absl::StrCat("archive: entry '", shown, "' is a link or special file: refused"));
    }
    while (!name.empty() && name.back() == '/') name.pop_back();
    std::vector<std::string> parts = absl::StrSplit(name, '/');
    if (parts.size() <= strip_components) continue;
    std::string relative =
        absl::StrJoin(std::vector<std::string>(parts.begin() + strip_components, parts.end()), "/");
    if (absl::Status valid = ValidateLayerPath(relative); !valid.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("archive: entry '", shown, "' refused: ", valid.message()));
    }
    // What the headers declare refuses an honest big archive before anything is written; what
    // is written (below) stops a dishonest one, whose entries inflate past their declared size.
    declared += static_cast<uint64_t>(std::max<la_int64_t>(0, archive_entry_size(entry)));
    if (declared > limits.max_bytes) {
      return absl::ResourceExhaustedError(
          absl::StrCat("archive: more than ", limits.max_bytes, " bytes"));
    }
    const std::string target = absl::StrCat(destination, "/", relative);
    archive_entry_set_pathname(entry, target.c_str());
    const mode_t permissions = archive_entry_perm(entry);
    archive_entry_set_perm(entry, type == AE_IFDIR || (permissions & 0100) != 0 ? 0755 : 0644);
    archive_entry_set_uid(entry, ::getuid());
    archive_entry_set_gid(entry, ::getgid());
    if (archive_write_header(writer.get(), entry) != ARCHIVE_OK) {
      return ArchiveError(writer.get(), absl::StrCat("cannot extract '", shown, "'"));
    }
    if (type == AE_IFREG) {
      const void* block = nullptr;
      size_t size = 0;
      la_int64_t offset = 0;
      while ((result = archive_read_data_block(reader.get(), &block, &size, &offset)) ==
             ARCHIVE_OK) {
        // Counted before writing: the disk never gets a byte past the limit. A block's end
        // bounds a sparse file's apparent size too.
        written += size;
        if (written > limits.max_bytes || offset < 0 ||
            static_cast<uint64_t>(offset) + size > limits.max_bytes) {
          return absl::ResourceExhaustedError(absl::StrCat("archive: more than ", limits.max_bytes,
                                                           " bytes extracted (at '", shown, "')"));
        }
        if (archive_write_data_block(writer.get(), block, size, offset) != ARCHIVE_OK) {
          return ArchiveError(writer.get(), absl::StrCat("cannot write '", shown, "'"));
        }
      }
      if (result != ARCHIVE_EOF) return ArchiveError(reader.get(), "truncated or corrupt data");
      ++files;
    }
    if (archive_write_finish_entry(writer.get()) != ARCHIVE_OK) {
      return ArchiveError(writer.get(), absl::StrCat("cannot finish '", shown, "'"));
    }
  }
  if (archive_write_close(writer.get()) != ARCHIVE_OK) {
    return ArchiveError(writer.get(), "cannot finish extraction");
  }
  return files;
}

}  // namespace l4d2::agent
