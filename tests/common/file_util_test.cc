#include "common/file_util.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/temp_dir.h"

namespace l4d2 {
namespace {

using ::l4d2::testing::TempDir;
using ::testing::HasSubstr;

TEST(FileUtilTest, WritesAtomicallyWithTheGivenMode) {
  TempDir dir;
  std::string path = dir.Sub("secret.txt");
  ASSERT_TRUE(WriteFileAtomically(path, "first", 0600).ok());
  ASSERT_TRUE(WriteFileAtomically(path, "second", 0600).ok());
  absl::StatusOr<std::string> read = ReadFileToString(path);
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(*read, "second");
  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  // No temporary file is left behind.
  int entries = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator(dir.path())) {
    ++entries;
  }
  EXPECT_EQ(entries, 1);
}

TEST(FileUtilTest, WriteIntoAMissingDirectoryIsNotFound) {
  TempDir dir;
  absl::Status status = WriteFileAtomically(dir.Sub("missing/file"), "x");
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(status.message(), HasSubstr("missing/file"));
}

TEST(FileUtilTest, ReadReportsMissingFilesAndOversizedFiles) {
  TempDir dir;
  EXPECT_EQ(ReadFileToString(dir.Sub("none")).status().code(), absl::StatusCode::kNotFound);
  std::ofstream(dir.Sub("big")) << std::string(2000, 'x');
  absl::StatusOr<std::string> big = ReadFileToString(dir.Sub("big"), 1000);
  EXPECT_EQ(big.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(ReadFileToString(dir.Sub("big"), 2000).ok());
}

TEST(FileUtilTest, WritesAndReadsWholeBuffersAtOffsets) {
  TempDir dir;
  const std::string path = dir.Sub("parts.bin");
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  ASSERT_GE(fd.get(), 0);
  ASSERT_TRUE(WriteFully(fd.get(), "head", path).ok());
  const std::string big(3 << 20, 'x');  // more than one write may take
  ASSERT_TRUE(WriteFullyAt(fd.get(), big, 4, path).ok());
  ASSERT_TRUE(WriteFullyAt(fd.get(), "tail", 4 + big.size(), path).ok());
  std::string read(4, '\0');
  ASSERT_TRUE(ReadFullyAt(fd.get(), read.data(), read.size(), 4 + big.size(), path).ok());
  EXPECT_EQ(read, "tail");
  ASSERT_TRUE(ReadFullyAt(fd.get(), read.data(), read.size(), 0, path).ok());
  EXPECT_EQ(read, "head");
  absl::Status short_read = ReadFullyAt(fd.get(), read.data(), read.size(), big.size() + 6, path);
  EXPECT_EQ(short_read.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(short_read.message(), HasSubstr("parts.bin' ends at"));
  ASSERT_EQ(::lseek(fd.get(), 0, SEEK_SET), 0);
  char buffer[8];
  absl::StatusOr<size_t> some = ReadSome(fd.get(), buffer, sizeof(buffer), path);
  ASSERT_TRUE(some.ok());
  EXPECT_EQ(std::string(buffer, *some), "headxxxx");
  EXPECT_EQ(ReadSome(-1, buffer, sizeof(buffer), path).status().code(),
            absl::StatusCode::kFailedPrecondition);  // EBADF
}

TEST(FileUtilTest, AFilesAgeIsItsLastWrite) {
  TempDir dir;
  const std::string path = dir.Sub("old");
  std::ofstream(path) << "x";
  EXPECT_FALSE(WrittenLongerAgoThan(path, absl::Hours(1)));
  std::filesystem::last_write_time(
      path, std::filesystem::file_time_type::clock::now() - std::chrono::hours(2));
  EXPECT_TRUE(WrittenLongerAgoThan(path, absl::Hours(1)));
  EXPECT_FALSE(WrittenLongerAgoThan(path, absl::Hours(3)));
  EXPECT_FALSE(WrittenLongerAgoThan(dir.Sub("missing"), absl::ZeroDuration()));
}

TEST(FileUtilTest, ErrnoErrorMapsCodesAndQuotesThePath) {
  absl::Status status = ErrnoError(ENOSPC, "write", "a/b");
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(status.message(), "failed to write 'a/b': No space left on device");
  EXPECT_EQ(ErrnoError(EACCES, "open", "x").code(), absl::StatusCode::kPermissionDenied);
}

}  // namespace
}  // namespace l4d2
