// Backups of instances (agent/backup/backup_store.h) on a real filesystem with a fake systemd:
// an archive holds the writable layer (files, modes, symlinks and, as root, overlayfs whiteouts
// and opaque directories) and the record; copied in parts and restored into another instance it
// gives the same tree; a running server is paused only while its layer is snapshotted; a
// running instance is never restored into; an archive that does not match its SHA-256 changes
// nothing; retention keeps the newest.

#include "agent/backup/backup_store.h"

#include <archive.h>
#include <archive_entry.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <random>

#include "absl/strings/str_cat.h"
#include "common/file_util.h"
#include "common/sha256.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rpc/proto_time.h"
#include "tests/fakes/fake_clock.h"
#include "tests/fakes/fake_game_client.h"
#include "tests/fakes/fake_service_manager.h"
#include "tests/testing/temp_dir.h"

namespace l4d2::agent {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::SizeIs;

// One entry of a tree as compared: type and mode, content or link target, device, xattrs.
std::map<std::string, std::string> Describe(const std::string& root) {
  std::map<std::string, std::string> tree;
  for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator();
       ++it) {
    const std::string path = it->path().string();
    struct stat info;
    EXPECT_EQ(::lstat(path.c_str(), &info), 0) << path;
    std::string entry = absl::StrCat(info.st_mode, " ", info.st_rdev, " ");
    if (S_ISREG(info.st_mode)) {
      entry += *Sha256OfFile(path);
    } else if (S_ISLNK(info.st_mode)) {
      entry += fs::read_symlink(it->path()).string();
    }
    char value[256];
    const ssize_t size = ::lgetxattr(path.c_str(), "trusted.overlay.opaque", value, sizeof(value));
    if (size > 0) absl::StrAppend(&entry, " opaque=", std::string(value, size));
    tree[it->path().lexically_relative(root).string()] = entry;
  }
  return tree;
}

class BackupStoreTest : public ::testing::Test {
 protected:
  BackupStoreTest() : layout_(dir_.Sub("root")) {
    EXPECT_TRUE(layout_.CreateDirectories().ok());
    for (const char* name : {"s1", "s2"}) {
      v1::InstanceSpec spec;
      spec.set_port(name == std::string("s1") ? 27015 : 27016);
      EXPECT_TRUE(instances_.Initialize(name, spec).ok());
    }
  }

  std::string Upper(const std::string& name) { return instances_.WritableLayer(name); }

  // The ids of an instance's backups, oldest first.
  std::vector<std::string> Ids(const std::string& name) {
    absl::StatusOr<std::vector<v1::Backup>> backups = store_.List(name);
    EXPECT_TRUE(backups.ok()) << backups.status();
    std::vector<std::string> ids;
    if (backups.ok()) {
      for (const v1::Backup& backup : *backups) ids.push_back(backup.id());
    }
    return ids;
  }

  // A writable layer as a game leaves it: cfg and logs, a 3 MiB download, a symlink, an empty
  // directory; as root, a whiteout (a file of the install deleted) and an opaque directory.
  void FillLayer(const std::string& name) {
    const std::string upper = Upper(name);
    fs::create_directories(upper + "/left4dead2/cfg");
    fs::create_directories(upper + "/left4dead2/logs");
    fs::create_directories(upper + "/left4dead2/addons/empty");
    std::ofstream(upper + "/left4dead2/cfg/banned_user.cfg") << "banid 0 STEAM_1:0:1\n";
    std::ofstream(upper + "/left4dead2/logs/L1204000.log") << "L 12/04/2026 - 12:00:00: hi\n";
    ::chmod((upper + "/left4dead2/cfg/banned_user.cfg").c_str(), 0640);
    std::string download(3 << 20, '\0');
    std::mt19937 random(42);
    for (char& c : download) c = static_cast<char>(random());
    std::ofstream(upper + "/left4dead2/addons/map.vpk", std::ios::binary) << download;
    fs::create_symlink("map.vpk", upper + "/left4dead2/addons/current.vpk");
    if (::geteuid() == 0) {
      ASSERT_EQ(
          ::mknod((upper + "/left4dead2/addons/gone.vpk").c_str(), S_IFCHR | 0000, makedev(0, 0)),
          0);
      fs::create_directories(upper + "/left4dead2/maps");
      ASSERT_EQ(
          ::setxattr((upper + "/left4dead2/maps").c_str(), "trusted.overlay.opaque", "y", 1, 0), 0);
    }
  }

  // Copies backup `id` of `from` to `to` in parts of `part` bytes, as the controller does.
  void Copy(const std::string& from, const std::string& to, const std::string& id, uint32_t part) {
    absl::StatusOr<v1::Backup> backup = store_.Get(from, id);
    ASSERT_TRUE(backup.ok()) << backup.status();
    v1::WriteBackupRequest write;
    write.set_name(to);
    *write.mutable_backup() = *backup;
    uint64_t offset = 0;
    while (true) {
      absl::StatusOr<v1::BackupChunk> chunk = store_.Read(from, id, offset, part);
      ASSERT_TRUE(chunk.ok()) << chunk.status();
      write.set_offset(offset);
      offset += chunk->data().size();
      write.set_last(offset == chunk->size_bytes());
      write.set_data(chunk->data());
      absl::StatusOr<v1::WriteBackupResponse> written = store_.Write(write);
      ASSERT_TRUE(written.ok()) << written.status();
      if (write.last()) {
        EXPECT_TRUE(written->complete());
        return;
      }
      EXPECT_FALSE(written->complete());
    }
  }

  l4d2::testing::TempDir dir_;
  HostLayout layout_;
  l4d2::testing::FakeServiceManager systemd_;
  l4d2::testing::FakeGameClient game_;
  l4d2::testing::FakeClock clock_;
  InstanceManager instances_{
      layout_,
      systemd_,
      game_,
      clock_,
      {.limits = {.port_first = 27015, .port_last = 27020}, .unit_dir = dir_.Sub("units")},
      [](const std::string&) { return false; }};
  BackupStore store_{layout_, systemd_, instances_, clock_};
};

TEST_F(BackupStoreTest, ABackupRestoredIntoAnotherInstanceGivesTheSameTree) {
  FillLayer("s1");
  absl::StatusOr<v1::BackupInstanceResponse> taken = store_.Take("s1", {});
  ASSERT_TRUE(taken.ok()) << taken.status();
  const v1::Backup& backup = taken->backup();
  EXPECT_TRUE(ValidateBackupId(backup.id()).ok()) << backup.id();
  EXPECT_EQ(backup.name(), "s1");
  EXPECT_EQ(backup.spec().port(), 27015);
  EXPECT_GE(backup.content_bytes(), 3u << 20);
  EXPECT_LT(backup.size_bytes(), backup.content_bytes() + (64 << 10));  // random data: ~1:1
  EXPECT_EQ(DurationOf(backup.paused()), absl::ZeroDuration());         // it was not running
  const std::string archive = absl::StrCat(layout_.backups_dir(), "/s1/", backup.id(), ".tar.zst");
  EXPECT_EQ(*Sha256OfFile(archive), backup.sha256());
  // What the snapshot needed is gone; only the archive and its record stay.
  std::vector<std::string> files;
  for (const auto& entry : fs::directory_iterator(layout_.backups_dir() + "/s1")) {
    files.push_back(entry.path().filename().string());
  }
  std::sort(files.begin(), files.end());
  EXPECT_THAT(files, ElementsAre(backup.id() + ".binpb", backup.id() + ".tar.zst"));

  // Copied to s2 in 1 MiB parts, one part sent twice (a retried call), then restored there.
  Copy("s1", "s2", backup.id(), 1 << 20);
  v1::WriteBackupRequest again;
  again.set_name("s2");
  *again.mutable_backup() = backup;
  EXPECT_TRUE(store_.Write(again)->complete());  // after the last part: done already
  std::ofstream(Upper("s2") + "/old.txt") << "s2's own state, replaced";
  ASSERT_TRUE(store_.Restore("s2", backup.id()).ok());
  EXPECT_EQ(Describe(Upper("s2")), Describe(Upper("s1")));
  EXPECT_FALSE(fs::exists(Upper("s2") + "/old.txt"));
  EXPECT_THAT(*store_.List("s2"), SizeIs(1));
  EXPECT_THAT(*store_.List(""), SizeIs(2));
}

TEST_F(BackupStoreTest, ARunningServerIsPausedForTheSnapshotAndNeverRestoredInto) {
  FillLayer("s1");
  const std::string unit = instances_.UnitOf("s1");
  ASSERT_TRUE(systemd_.Start(unit).ok());
  absl::StatusOr<v1::BackupInstanceResponse> taken = store_.Take("s1", {});
  ASSERT_TRUE(taken.ok()) << taken.status();
  std::vector<std::string> signals;
  for (const std::string& call : systemd_.calls()) {
    if (call.rfind("signal ", 0) == 0) signals.push_back(call);
  }
  EXPECT_THAT(signals, ElementsAre(absl::StrCat("signal ", SIGSTOP, " ", unit),
                                   absl::StrCat("signal ", SIGCONT, " ", unit)));
  EXPECT_LT(DurationOf(taken->backup().paused()), absl::Seconds(1));
  absl::Status restored = store_.Restore("s1", taken->backup().id());
  EXPECT_TRUE(absl::IsFailedPrecondition(restored)) << restored;
  EXPECT_THAT(restored.message(), HasSubstr("stop it"));
}

TEST_F(BackupStoreTest, AnArchiveThatDoesNotMatchItsChecksumChangesNothing) {
  FillLayer("s1");
  absl::StatusOr<v1::BackupInstanceResponse> taken = store_.Take("s1", {});
  ASSERT_TRUE(taken.ok()) << taken.status();
  const v1::Backup& backup = taken->backup();
  // A copy whose parts do not add up to the recorded SHA-256 is discarded, never listed.
  v1::WriteBackupRequest write;
  write.set_name("s2");
  *write.mutable_backup() = backup;
  write.mutable_backup()->set_sha256(std::string(64, '0'));
  absl::StatusOr<v1::BackupChunk> whole = store_.Read("s1", backup.id(), 0, 4 << 20);
  ASSERT_TRUE(whole.ok());
  ASSERT_EQ(whole->data().size(), backup.size_bytes());
  write.set_data(whole->data());
  write.set_last(true);
  EXPECT_TRUE(absl::IsDataLoss(store_.Write(write).status()));
  EXPECT_THAT(*store_.List("s2"), SizeIs(0));
  // A part that skips ahead is refused.
  write.mutable_backup()->set_sha256(backup.sha256());
  write.set_offset(10);
  write.set_data("x");
  write.set_last(false);
  EXPECT_TRUE(absl::IsFailedPrecondition(store_.Write(write).status()));

  // The archive changed on disk after it was taken: refused, the layer untouched.
  const std::string archive = absl::StrCat(layout_.backups_dir(), "/s1/", backup.id(), ".tar.zst");
  {
    std::fstream file(archive, std::ios::in | std::ios::out | std::ios::binary);
    file.seekp(static_cast<std::streamoff>(backup.size_bytes() / 2));
    file.put('\x5a');
  }
  std::ofstream(Upper("s1") + "/marker") << "still here";
  const auto before = Describe(Upper("s1"));
  absl::Status restored = store_.Restore("s1", backup.id());
  EXPECT_TRUE(absl::IsInvalidArgument(restored)) << restored;
  EXPECT_THAT(restored.message(), HasSubstr("does not match its SHA-256"));
  EXPECT_EQ(Describe(Upper("s1")), before);
}

// A copy whose archive (relayed by the controller, its SHA-256 matching) carries an entry that
// leaves the layer, a hard link or a device: refused at restore, nothing written anywhere.
TEST_F(BackupStoreTest, AnArchiveEntryLeavingTheLayerIsRefused) {
  struct Evil {
    std::string path;
    mode_t type;
    std::string link;
  };
  for (const Evil& evil :
       {Evil{"upper/../../escaped", AE_IFREG, ""}, Evil{"upper//etc/escaped", AE_IFREG, ""},
        Evil{"upper/hard", AE_IFREG, "/etc/passwd"}, Evil{"upper/disk", AE_IFBLK, ""}}) {
    SCOPED_TRACE(evil.path);
    std::string bytes;
    {
      struct archive* writer = archive_write_new();
      archive_write_set_format_pax_restricted(writer);
      archive_write_add_filter_zstd(writer);
      size_t used = 0;
      std::vector<char> buffer(1 << 16);
      archive_write_open_memory(writer, buffer.data(), buffer.size(), &used);
      struct archive_entry* entry = archive_entry_new();
      archive_entry_set_pathname(entry, evil.path.c_str());
      archive_entry_set_filetype(entry, evil.type);
      archive_entry_set_perm(entry, 0644);
      if (!evil.link.empty()) archive_entry_set_hardlink(entry, evil.link.c_str());
      if (evil.type == AE_IFBLK) archive_entry_set_rdev(entry, makedev(8, 0));
      archive_entry_set_size(entry, evil.type == AE_IFREG && evil.link.empty() ? 4 : 0);
      archive_write_header(writer, entry);
      if (evil.type == AE_IFREG && evil.link.empty()) archive_write_data(writer, "evil", 4);
      archive_entry_free(entry);
      archive_write_close(writer);
      archive_write_free(writer);
      bytes.assign(buffer.data(), used);
    }
    Sha256 digest;
    digest.Update(bytes);
    v1::WriteBackupRequest write;
    write.set_name("s2");
    write.mutable_backup()->set_id("20261204T120000Z-0badc0de");
    write.mutable_backup()->set_size_bytes(bytes.size());
    write.mutable_backup()->set_sha256(digest.HexDigest());
    write.set_data(bytes);
    write.set_last(true);
    ASSERT_TRUE(store_.Write(write).ok());
    std::ofstream(Upper("s2") + "/marker") << "s2's own";
    const auto before = Describe(Upper("s2"));
    absl::Status restored = store_.Restore("s2", "20261204T120000Z-0badc0de");
    EXPECT_TRUE(absl::IsInvalidArgument(restored)) << restored;
    EXPECT_THAT(restored.message(), HasSubstr("refused"));
    EXPECT_EQ(Describe(Upper("s2")), before);
    EXPECT_FALSE(fs::exists(dir_.Sub("escaped")));
    EXPECT_FALSE(fs::exists(dir_.Sub("root/escaped")));
    EXPECT_FALSE(fs::exists("/etc/escaped"));
    ASSERT_TRUE(*store_.Delete("s2", "20261204T120000Z-0badc0de"));
  }
}

TEST_F(BackupStoreTest, RetentionKeepsTheNewestAndDropsTheOld) {
  std::vector<std::string> ids;
  for (int i = 0; i < 4; ++i) {
    absl::StatusOr<v1::BackupInstanceResponse> taken = store_.Take("s1", {.keep = 3});
    ASSERT_TRUE(taken.ok()) << taken.status();
    ids.push_back(taken->backup().id());
    if (i == 3) {
      EXPECT_THAT(taken->pruned(), ElementsAre(ids[0]));
    }
    clock_.Advance(absl::Hours(24));
  }
  EXPECT_THAT(Ids("s1"), ElementsAre(ids[1], ids[2], ids[3]));
  // None older than 36 h, but always the new one.
  absl::StatusOr<v1::BackupInstanceResponse> taken =
      store_.Take("s1", {.keep = 0, .keep_for = absl::Hours(36)});
  ASSERT_TRUE(taken.ok());
  EXPECT_THAT(taken->pruned(), ElementsAre(ids[1], ids[2]));
  EXPECT_THAT(Ids("s1"), ElementsAre(ids[3], taken->backup().id()));
}

// What an agent killed mid-backup or mid-copy left goes at the instance's next backup; a copy
// still arriving (touched within the day) stays.
TEST_F(BackupStoreTest, LeftoversOfAnInterruptedBackupGoAtTheNextOne) {
  ASSERT_TRUE(store_.Take("s1", {}).ok());
  const std::string dir = layout_.backups_dir() + "/s1";
  fs::create_directories(dir + "/.snapshot-20261204T120000Z-00000001/left4dead2");
  std::ofstream(dir + "/.snapshot-20261204T120000Z-00000001/left4dead2/a.cfg") << "x";
  std::ofstream(dir + "/.partial-20261204T120000Z-00000001") << "zstd...";
  std::ofstream(dir + "/.incoming-20261201T120000Z-00000002") << "part";
  std::ofstream(dir + "/.incoming-20261204T120000Z-00000003") << "part";
  fs::last_write_time(dir + "/.incoming-20261201T120000Z-00000002",
                      fs::file_time_type::clock::now() - std::chrono::hours(25));
  ASSERT_TRUE(store_.Take("s1", {}).ok());
  std::vector<std::string> hidden;
  for (const fs::directory_entry& entry : fs::directory_iterator(dir)) {
    const std::string file = entry.path().filename().string();
    if (file[0] == '.') hidden.push_back(file);
  }
  EXPECT_THAT(hidden, ElementsAre(".incoming-20261204T120000Z-00000003"));
  EXPECT_THAT(Ids("s1"), SizeIs(2));
}

TEST_F(BackupStoreTest, BadNamesAndIdsAreRefused) {
  EXPECT_TRUE(absl::IsNotFound(store_.Take("nobody", {}).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(store_.Take("../s1", {}).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(store_.Get("s1", "../../etc/passwd").status()));
  EXPECT_TRUE(absl::IsInvalidArgument(store_.Get("s1", "20261204T120000Z-ABCDEF01").status()));
  EXPECT_TRUE(absl::IsNotFound(store_.Get("s1", "20261204T120000Z-abcdef01").status()));
  EXPECT_FALSE(*store_.Delete("s1", "20261204T120000Z-abcdef01"));
  absl::StatusOr<v1::BackupInstanceResponse> taken = store_.Take("s1", {});
  ASSERT_TRUE(taken.ok());
  EXPECT_TRUE(absl::IsOutOfRange(
      store_.Read("s1", taken->backup().id(), taken->backup().size_bytes() + 1, 0).status()));
  EXPECT_TRUE(
      absl::IsInvalidArgument(store_.Read("s1", taken->backup().id(), 0, 5 << 20).status()));
  EXPECT_TRUE(*store_.Delete("s1", taken->backup().id()));
  EXPECT_THAT(*store_.List("s1"), SizeIs(0));
}

}  // namespace
}  // namespace l4d2::agent
