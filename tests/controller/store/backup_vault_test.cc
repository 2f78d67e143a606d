// The controller's vault of backup archives (controller/store/backup_vault.h) on a real
// directory: a copy is whole and matches its name or is not there at all.

#include "controller/store/backup_vault.h"

#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <fstream>

#include "common/sha256.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/temp_dir.h"

namespace l4d2::controller {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::string Sha256Of(const std::string& bytes) {
  Sha256 digest;
  digest.Update(bytes);
  return digest.HexDigest();
}

std::vector<std::string> Files(const std::string& dir) {
  std::vector<std::string> files;
  for (const fs::directory_entry& entry : fs::directory_iterator(dir)) {
    files.push_back(entry.path().filename().string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

class BackupVaultTest : public ::testing::Test {
 protected:
  BackupVaultTest() : vault_(dir_.Sub("vault")) {}

  l4d2::testing::TempDir dir_;
  BackupVault vault_;
  const std::string archive_ = std::string(100000, 'z') + "the end";
  const std::string sha256_ = Sha256Of(archive_);
};

TEST_F(BackupVaultTest, AnArchiveReceivedInPartsIsReadBackByItsDigest) {
  ASSERT_TRUE(vault_.Open().ok());
  struct stat info;
  ASSERT_EQ(::stat(vault_.dir().c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0700u);
  EXPECT_FALSE(vault_.Has(sha256_));
  absl::StatusOr<std::unique_ptr<BackupVault::Incoming>> incoming =
      vault_.Receive(sha256_, archive_.size());
  ASSERT_TRUE(incoming.ok()) << incoming.status();
  for (size_t at = 0; at < archive_.size(); at += 4096) {
    ASSERT_TRUE((*incoming)->Append(archive_.substr(at, 4096)).ok());
  }
  EXPECT_FALSE(vault_.Has(sha256_));  // not before it is checked
  ASSERT_TRUE((*incoming)->Finish().ok());
  incoming->reset();
  EXPECT_TRUE(vault_.Has(sha256_));
  EXPECT_THAT(Files(vault_.dir()), ElementsAre(sha256_ + ".tar.zst"));

  std::string read;
  uint64_t size = 0;
  while (read.size() < archive_.size()) {
    absl::StatusOr<BackupVault::Part> part = vault_.Read(sha256_, read.size(), 30000);
    ASSERT_TRUE(part.ok()) << part.status();
    ASSERT_FALSE(part->data.empty());
    size = part->size_bytes;
    read += part->data;
  }
  EXPECT_EQ(size, archive_.size());
  EXPECT_EQ(read, archive_);
  EXPECT_TRUE(vault_.Read(sha256_, archive_.size(), 10)->data.empty());
  EXPECT_TRUE(absl::IsOutOfRange(vault_.Read(sha256_, archive_.size() + 1, 10).status()));

  ASSERT_TRUE(vault_.Remove(sha256_).ok());
  EXPECT_FALSE(vault_.Has(sha256_));
  EXPECT_TRUE(vault_.Remove(sha256_).ok());  // gone already
  EXPECT_TRUE(absl::IsNotFound(vault_.Read(sha256_, 0, 10).status()));
}

TEST_F(BackupVaultTest, AnArchiveNotMatchingItsSizeOrDigestLeavesNothing) {
  ASSERT_TRUE(vault_.Open().ok());
  {
    auto incoming = vault_.Receive(sha256_, archive_.size());
    ASSERT_TRUE(incoming.ok());
    std::string damaged = archive_;
    damaged[5] ^= 1;
    ASSERT_TRUE((*incoming)->Append(damaged).ok());
    absl::Status finished = (*incoming)->Finish();
    EXPECT_TRUE(absl::IsDataLoss(finished)) << finished;
    EXPECT_THAT(finished.message(), HasSubstr("does not match its SHA-256"));
  }
  {
    auto incoming = vault_.Receive(sha256_, archive_.size());
    ASSERT_TRUE(incoming.ok());
    ASSERT_TRUE((*incoming)->Append(archive_.substr(0, 10)).ok());
    EXPECT_TRUE(absl::IsDataLoss((*incoming)->Finish()));
    EXPECT_TRUE(absl::IsDataLoss((*incoming)->Append(archive_)));  // longer than announced
  }
  {
    auto incoming = vault_.Receive(sha256_, archive_.size());  // dropped midway
    ASSERT_TRUE(incoming.ok());
    ASSERT_TRUE((*incoming)->Append(archive_.substr(0, 10)).ok());
  }
  EXPECT_FALSE(vault_.Has(sha256_));
  EXPECT_TRUE(Files(vault_.dir()).empty());
}

TEST_F(BackupVaultTest, NamesOtherThanDigestsAreRefused) {
  ASSERT_TRUE(vault_.Open().ok());
  for (const std::string& bad : {std::string("../../etc/passwd"), std::string(64, 'A'),
                                 std::string(63, 'a'), std::string(63, 'a') + "/"}) {
    EXPECT_TRUE(absl::IsInvalidArgument(vault_.Receive(bad, 1).status())) << bad;
    EXPECT_TRUE(absl::IsInvalidArgument(vault_.Read(bad, 0, 1).status())) << bad;
    EXPECT_TRUE(absl::IsInvalidArgument(vault_.Remove(bad))) << bad;
    EXPECT_FALSE(vault_.Has(bad));
  }
}

// A controller stopped in the middle of a copy leaves its incoming file; the next start
// removes it after a day (a copy still going on is left alone).
TEST_F(BackupVaultTest, OpeningRemovesCopiesAbandonedForADay) {
  fs::create_directories(vault_.dir());
  const std::string old_file = vault_.dir() + "/.incoming-" + sha256_ + "-AAAAAA";
  const std::string new_file = vault_.dir() + "/.incoming-" + sha256_ + "-BBBBBB";
  std::ofstream(old_file) << "part";
  std::ofstream(new_file) << "part";
  fs::last_write_time(old_file, fs::file_time_type::clock::now() - std::chrono::hours(25));
  ASSERT_TRUE(vault_.Open().ok());
  EXPECT_THAT(Files(vault_.dir()), ElementsAre(".incoming-" + sha256_ + "-BBBBBB"));
  BackupVault unwritable("/proc/vault");
  EXPECT_FALSE(unwritable.Open().ok());
}

// What a controller stopped between forgetting a backup and removing its copy left goes at the
// next start: copies no backup refers to, a day old; a referenced or a fresh one stays.
TEST_F(BackupVaultTest, CopiesNoBackupRefersToGoOnceADayOld) {
  ASSERT_TRUE(vault_.Open().ok());
  std::vector<std::string> digests;
  for (const std::string& archive :
       {std::string("kept"), std::string("orphan"), std::string("new")}) {
    const std::string sha256 = Sha256Of(archive);
    auto incoming = vault_.Receive(sha256, archive.size());
    ASSERT_TRUE(incoming.ok());
    ASSERT_TRUE((*incoming)->Append(archive).ok());
    ASSERT_TRUE((*incoming)->Finish().ok());
    digests.push_back(sha256);
  }
  for (int i : {0, 1}) {
    fs::last_write_time(vault_.dir() + "/" + digests[i] + ".tar.zst",
                        fs::file_time_type::clock::now() - std::chrono::hours(25));
  }
  std::ofstream(vault_.dir() + "/notes.txt") << "an operator's";
  absl::StatusOr<std::vector<std::string>> removed =
      vault_.RemoveUnreferenced({digests[0]}, absl::Hours(24));
  ASSERT_TRUE(removed.ok()) << removed.status();
  EXPECT_THAT(*removed, ElementsAre(digests[1]));
  EXPECT_TRUE(vault_.Has(digests[0]));
  EXPECT_FALSE(vault_.Has(digests[1]));
  EXPECT_TRUE(vault_.Has(digests[2]));
  EXPECT_TRUE(fs::exists(vault_.dir() + "/notes.txt"));
}

}  // namespace
}  // namespace l4d2::controller
