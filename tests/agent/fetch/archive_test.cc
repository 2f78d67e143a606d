#include "agent/fetch/archive.h"

#include <archive.h>
#include <archive_entry.h>
#include <sys/stat.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>

#include "agent/overlays/overlay_manager.h"
#include "common/file_util.h"
#include "common/sha256.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/temp_dir.h"

namespace l4d2::agent {
namespace {

namespace fs = std::filesystem;
using ::l4d2::testing::TempDir;
using ::testing::HasSubstr;

struct Entry {
  std::string name;
  std::string content;  // Regular file content, or the link target.
  enum Kind { kFile, kDir, kSymlink, kHardlink } kind = kFile;
};

// Writes a tar.gz (or zip) with libarchive's writer, so hostile archives are exact.
void WriteArchive(const std::string& path, const std::vector<Entry>& entries, bool zip = false) {
  struct archive* a = archive_write_new();
  if (zip) {
    archive_write_set_format_zip(a);
  } else {
    archive_write_add_filter_gzip(a);
    archive_write_set_format_pax_restricted(a);
  }
  archive_write_open_filename(a, path.c_str());
  for (const Entry& e : entries) {
    struct archive_entry* entry = archive_entry_new();
    archive_entry_set_pathname(entry, e.name.c_str());
    if (e.kind == Entry::kDir) {
      archive_entry_set_filetype(entry, AE_IFDIR);
      archive_entry_set_perm(entry, 0755);
    } else if (e.kind == Entry::kSymlink) {
      archive_entry_set_filetype(entry, AE_IFLNK);
      archive_entry_set_symlink(entry, e.content.c_str());
      archive_entry_set_perm(entry, 0777);
    } else if (e.kind == Entry::kHardlink) {
      archive_entry_set_filetype(entry, AE_IFREG);
      archive_entry_set_hardlink(entry, e.content.c_str());
    } else {
      archive_entry_set_filetype(entry, AE_IFREG);
      archive_entry_set_perm(entry, 0644);
      archive_entry_set_size(entry, static_cast<la_int64_t>(e.content.size()));
    }
    archive_write_header(a, entry);
    if (e.kind == Entry::kFile) archive_write_data(a, e.content.data(), e.content.size());
    archive_entry_free(entry);
  }
  archive_write_close(a);
  archive_write_free(a);
}

// Appends the little-endian bytes of `value`.
template <typename T>
void Put(std::string& out, T value) {
  for (size_t i = 0; i < sizeof(T); ++i) out.push_back(static_cast<char>(value >> (8 * i)));
}

std::string Deflate(const std::string& data, int flush) {
  z_stream z{};
  EXPECT_EQ(deflateInit2(&z, 9, Z_DEFLATED, -15, 9, Z_DEFAULT_STRATEGY), Z_OK);
  std::string out(deflateBound(&z, data.size()) + 64, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  EXPECT_NE(deflate(&z, flush), Z_STREAM_ERROR);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

// A zip with one entry `name` that inflates to `real` bytes of zeros while declaring, as its
// sizes, what libarchive 3.6.2 checks only after writing (issue Isolation, 5): the local header
// leaves them to a data descriptor (flag bit 3, read as streamed: no central directory), and
// the descriptor gives the low 32 bits of the real size (4 GiB + 1 -> 1). One MiB of zeros
// deflated and fully flushed depends on nothing before it: repeated, it inflates to as many
// MiB, so 4 GiB cost 4 MB and no compression time.
void WriteZipBomb(const std::string& path, const std::string& name, uint64_t real) {
  constexpr uint64_t kChunk = 1 << 20;
  const std::string zeros(kChunk, '\0');
  const std::string chunk = Deflate(zeros, Z_FULL_FLUSH);
  const std::string tail = Deflate(std::string(real % kChunk, '\0'), Z_FINISH);
  const uLong chunk_crc = crc32(0, reinterpret_cast<const Bytef*>(zeros.data()), kChunk);
  uLong crc = 0;
  for (uint64_t i = 0; i < real / kChunk; ++i) crc = crc32_combine(crc, chunk_crc, kChunk);
  crc = crc32(crc, reinterpret_cast<const Bytef*>(zeros.data()), real % kChunk);
  const uint64_t compressed = chunk.size() * (real / kChunk) + tail.size();
  std::string local;
  Put<uint32_t>(local, 0x04034b50);
  Put<uint16_t>(local, 20);      // version needed
  Put<uint16_t>(local, 0x0008);  // sizes in the data descriptor
  Put<uint16_t>(local, 8);       // deflate
  Put<uint16_t>(local, 0);       // time
  Put<uint16_t>(local, 0x21);    // date
  Put<uint32_t>(local, 0);       // crc, compressed and uncompressed size: see the descriptor
  Put<uint32_t>(local, 0);
  Put<uint32_t>(local, 0);
  Put<uint16_t>(local, static_cast<uint16_t>(name.size()));
  Put<uint16_t>(local, 0);
  local += name;
  std::string descriptor;
  Put<uint32_t>(descriptor, 0x08074b50);
  Put<uint32_t>(descriptor, static_cast<uint32_t>(crc));
  Put<uint32_t>(descriptor, static_cast<uint32_t>(compressed));
  Put<uint32_t>(descriptor, static_cast<uint32_t>(real));  // the low 32 bits
  std::ofstream out(path, std::ios::binary);
  out << local;
  for (uint64_t i = 0; i < real / kChunk; ++i) out << chunk;
  out << tail << descriptor;
}

TEST(ArchiveTest, ExtractsTarGzAndZipWithStrippedComponents) {
  for (bool zip : {false, true}) {
    TempDir dir;
    WriteArchive(dir.Sub("a"),
                 {{"pack-1.0", "", Entry::kDir},
                  {"pack-1.0/addons/sourcemod.vpk", "vpk"},
                  {"pack-1.0/cfg/sm.cfg", "sm_cvar 1"}},
                 zip);
    fs::create_directories(dir.Sub("out"));
    absl::StatusOr<uint64_t> files = ExtractArchive(dir.Sub("a"), dir.Sub("out"), 1, {});
    ASSERT_TRUE(files.ok()) << files.status();
    EXPECT_EQ(*files, 2u);
    EXPECT_EQ(*ReadFileToString(dir.Sub("out/addons/sourcemod.vpk")), "vpk");
    EXPECT_EQ(*ReadFileToString(dir.Sub("out/cfg/sm.cfg")), "sm_cvar 1");
  }
}

TEST(ArchiveTest, RefusesEntriesThatEscapeOrLink) {
  const std::vector<std::vector<Entry>> hostile = {
      {{"../evil.cfg", "x"}},
      {{"ok/../../evil.cfg", "x"}},
      {{"/etc/evil.cfg", "x"}},
      {{"link", "/etc", Entry::kSymlink}},
      {{"link", "../..", Entry::kSymlink}, {"link/evil.cfg", "x"}},
      {{"a.cfg", "x"}, {"hard", "a.cfg", Entry::kHardlink}},
      {{"bad\nname.cfg", "x"}},
  };
  for (const auto& entries : hostile) {
    TempDir dir;
    WriteArchive(dir.Sub("a"), entries);
    fs::create_directories(dir.Sub("out"));
    absl::StatusOr<uint64_t> files = ExtractArchive(dir.Sub("a"), dir.Sub("out"), 0, {});
    EXPECT_EQ(files.status().code(), absl::StatusCode::kInvalidArgument) << entries.back().name;
    EXPECT_FALSE(fs::exists(dir.Sub("evil.cfg")));
    EXPECT_FALSE(fs::exists("/etc/evil.cfg"));
  }
}

TEST(ArchiveTest, RefusesGarbageAndEnforcesLimits) {
  TempDir dir;
  ASSERT_TRUE(WriteFileAtomically(dir.Sub("junk"), "this is not an archive").ok());
  fs::create_directories(dir.Sub("out"));
  EXPECT_EQ(ExtractArchive(dir.Sub("junk"), dir.Sub("out"), 0, {}).status().code(),
            absl::StatusCode::kInvalidArgument);
  WriteArchive(dir.Sub("big"), {{"a", std::string(4096, 'a')}, {"b", std::string(4096, 'b')}});
  EXPECT_EQ(ExtractArchive(dir.Sub("big"), dir.Sub("out"), 0, {.max_bytes = 5000}).status().code(),
            absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(ExtractArchive(dir.Sub("big"), dir.Sub("out"), 0, {.max_entries = 1}).status().code(),
            absl::StatusCode::kResourceExhausted);
}

// The headers declare 1 byte; the entry inflates to 4 GiB + 1. Counted by what is written, the
// extraction stops at the limit and the disk holds no byte past it.
TEST(ArchiveTest, AZipBombStopsAtTheLimitWithTheDiskUntouchedBeyondIt) {
  TempDir dir;
  WriteZipBomb(dir.Sub("bomb.zip"), "left4dead2/addons/bomb.vpk", (uint64_t{4} << 30) + 1);
  EXPECT_LT(fs::file_size(dir.Sub("bomb.zip")), uint64_t{8} << 20);
  fs::create_directories(dir.Sub("out"));
  constexpr uint64_t kLimit = 3 << 20;
  absl::StatusOr<uint64_t> files =
      ExtractArchive(dir.Sub("bomb.zip"), dir.Sub("out"), 0, {.max_bytes = kLimit});
  EXPECT_EQ(files.status().code(), absl::StatusCode::kResourceExhausted) << files.status();
  uint64_t on_disk = 0;
  for (const auto& entry : fs::recursive_directory_iterator(dir.Sub("out"))) {
    struct stat st {};
    ASSERT_EQ(::lstat(entry.path().c_str(), &st), 0);
    if (S_ISREG(st.st_mode)) on_disk += static_cast<uint64_t>(st.st_size);
  }
  EXPECT_LE(on_disk, kLimit);
}

TEST(ArchiveTest, Sha256MatchesTheKnownValue) {
  TempDir dir;
  ASSERT_TRUE(WriteFileAtomically(dir.Sub("f"), "abc").ok());
  EXPECT_EQ(*Sha256OfFile(dir.Sub("f")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

// Serves files from a directory, as the archive's web server would.
class FakeFetcher final : public HttpFetcher {
 public:
  explicit FakeFetcher(std::string root) : root_(std::move(root)) {}
  absl::StatusOr<uint64_t> Fetch(const std::string& url, const std::string& path, uint64_t,
                                 absl::Duration) override {
    std::string name = url.substr(url.rfind('/') + 1);
    std::error_code error;
    fs::copy_file(root_ + "/" + name, path, fs::copy_options::overwrite_existing, error);
    if (error) return absl::UnavailableError("HTTP 404");
    return fs::file_size(path);
  }
  absl::StatusOr<std::string> PostForm(const std::string&, const std::string&, uint64_t,
                                       absl::Duration) override {
    return absl::UnavailableError("no web api here");
  }
  absl::StatusOr<std::string> PostJson(const std::string&, const std::string&, uint64_t,
                                       absl::Duration) override {
    return absl::UnavailableError("no web api here");
  }

 private:
  std::string root_;
};

TEST(ArchiveOverlayTest, AVerifiedArchiveBecomesAVersionAndAMismatchChangesNothing) {
  TempDir dir;
  HostLayout layout(dir.Sub("root"));
  ASSERT_TRUE(layout.CreateDirectories().ok());
  fs::create_directories(dir.Sub("web"));
  WriteArchive(dir.Sub("web/sm.tar.gz"), {{"sourcemod/addons/sm.vpk", "vpk"}});
  FakeFetcher fetcher(dir.Sub("web"));
  LibarchiveExtractor extractor;
  OverlayManager manager(
      layout, {}, [] { return std::map<std::string, std::vector<std::string>>(); }, &fetcher,
      &extractor);
  v1::SyncOverlayRequest request;
  request.set_ref("sourcemod");
  request.mutable_archive()->set_url("https://downloads.example/sm.tar.gz");
  request.mutable_archive()->set_destination("left4dead2");
  request.mutable_archive()->set_strip_components(1);
  request.mutable_archive()->set_sha256(std::string(64, '0'));
  absl::StatusOr<v1::OverlaySyncResult> mismatch = manager.Sync(request, "op1");
  EXPECT_EQ(mismatch.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(mismatch.status().message(), HasSubstr("sha256 mismatch"));
  EXPECT_TRUE(fs::is_empty(layout.overlays_dir()));
  EXPECT_TRUE(fs::is_empty(layout.tmp_dir()));

  request.mutable_archive()->set_sha256(*Sha256OfFile(dir.Sub("web/sm.tar.gz")));
  absl::StatusOr<v1::OverlaySyncResult> synced = manager.Sync(request, "op2");
  ASSERT_TRUE(synced.ok()) << synced.status();
  EXPECT_EQ(synced->version(), "1");
  EXPECT_EQ(
      *ReadFileToString(layout.overlays_dir() + "/sourcemod/current/left4dead2/addons/sm.vpk"),
      "vpk");
  request.mutable_archive()->set_url("ftp://downloads.example/sm.tar.gz");
  EXPECT_EQ(manager.Sync(request, "op3").status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace l4d2::agent
