#include "agent/fetch/archive.h"

#include <archive.h>
#include <archive_entry.h>

#include <filesystem>

#include "agent/overlays/digest.h"
#include "agent/overlays/overlay_manager.h"
#include "common/file_util.h"
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
