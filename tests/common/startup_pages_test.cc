#include "common/startup_pages.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"

namespace l4d2 {
namespace {

constexpr size_t kMappingBytes = size_t{1} << 20;

// The resident kB of the mapping starting at `address`, from /proc/self/smaps; -1 if absent.
int64_t ResidentKb(const void* address) {
  std::ifstream smaps("/proc/self/smaps");
  const std::string start = absl::StrCat(absl::Hex(reinterpret_cast<uintptr_t>(address)), "-");
  std::string line;
  bool in_mapping = false;
  while (std::getline(smaps, line)) {
    // A mapping's header line starts "start-end "; its fields start "Name:".
    const std::string first = line.substr(0, line.find(' '));
    if (!first.empty() && first.back() != ':') {
      in_mapping = line.rfind(start, 0) == 0;
    } else if (in_mapping && line.rfind("Rss:", 0) == 0) {
      std::vector<std::string> fields = absl::StrSplit(line, ' ', absl::SkipEmpty());
      int64_t kb = -1;
      if (fields.size() >= 2 && absl::SimpleAtoi(fields[1], &kb)) return kb;
    }
  }
  return -1;
}

// Files on a disk file system (page cache pages can be reclaimed; tmpfs ones cannot), one per
// mapping: the kernel leaves alone a page that two mappings share.
class StartupPagesTest : public ::testing::Test {
 protected:
  void TearDown() override {
    for (int fd : fds_) close(fd);
  }

  // Maps a new file of kMappingBytes and reads every page of it.
  char* MapAndTouch(int protection) {
    char path[] = "/var/tmp/l4d2-startup-pages-XXXXXX";
    int fd = mkstemp(path);
    EXPECT_GE(fd, 0);
    fds_.push_back(fd);
    unlink(path);
    std::string block(kMappingBytes, 'x');
    EXPECT_EQ(write(fd, block.data(), block.size()), static_cast<ssize_t>(block.size()));
    EXPECT_EQ(fdatasync(fd), 0);  // clean pages, as a library's are
    void* mapping = mmap(nullptr, kMappingBytes, protection, MAP_PRIVATE, fd, 0);
    EXPECT_NE(mapping, MAP_FAILED);
    for (size_t i = 0; i < kMappingBytes; i += 4096) {
      EXPECT_EQ(static_cast<volatile char*>(mapping)[i], 'x');
    }
    return static_cast<char*>(mapping);
  }

  std::vector<int> fds_;
};

TEST_F(StartupPagesTest, ReclaimsReadOnlyFileMappingsAndLeavesWritableOnesAlone) {
  char* read_only = MapAndTouch(PROT_READ);
  char* writable = MapAndTouch(PROT_READ | PROT_WRITE);
  ASSERT_EQ(ResidentKb(read_only), 1024);
  ASSERT_EQ(ResidentKb(writable), 1024);

  absl::StatusOr<int64_t> advised = ReleaseStartupPages();
  ASSERT_TRUE(advised.ok()) << advised.status();
  EXPECT_GE(*advised, static_cast<int64_t>(kMappingBytes));
  EXPECT_EQ(ResidentKb(read_only), 0);
  EXPECT_EQ(ResidentKb(writable), 1024);
  // What is used again comes back, with its content.
  EXPECT_EQ(read_only[kMappingBytes - 1], 'x');
  EXPECT_GT(ResidentKb(read_only), 0);
  munmap(read_only, kMappingBytes);
  munmap(writable, kMappingBytes);
}

TEST_F(StartupPagesTest, CodeLeavesThisProcessEvenWhenSharedAndRelocatedConstantsStay) {
  // Code whose pages another process maps too (as a library's): the kernel does not reclaim
  // them, yet they leave this process.
  char* code = MapAndTouch(PROT_READ | PROT_EXEC);
  int ready[2], done[2];
  ASSERT_EQ(pipe(ready), 0);
  ASSERT_EQ(pipe(done), 0);
  const pid_t other = fork();
  if (other == 0) {
    close(done[1]);  // the parent's closing it says "done"
    void* mapping = mmap(nullptr, kMappingBytes, PROT_READ, MAP_PRIVATE, fds_.back(), 0);
    for (size_t i = 0; mapping != MAP_FAILED && i < kMappingBytes; i += 4096) {
      (void)static_cast<volatile char*>(mapping)[i];
    }
    char byte = 0;
    (void)!write(ready[1], &byte, 1);
    (void)!read(done[0], &byte, 1);
    _exit(0);
  }
  char byte = 0;
  ASSERT_EQ(read(ready[0], &byte, 1), 1);
  // Constants relocated at load (RELRO): written, then made read-only.
  char* relocated = MapAndTouch(PROT_READ | PROT_WRITE);
  relocated[0] = 'r';
  ASSERT_EQ(mprotect(relocated, kMappingBytes, PROT_READ), 0);

  ASSERT_TRUE(ReleaseStartupPages().ok());
  EXPECT_EQ(ResidentKb(code), 0);
  EXPECT_EQ(relocated[0], 'r') << "a relocation was lost";
  EXPECT_EQ(code[4096], 'x');
  close(done[1]);
  waitpid(other, nullptr, 0);
  for (int fd : {ready[0], ready[1], done[0]}) close(fd);
  munmap(code, kMappingBytes);
  munmap(relocated, kMappingBytes);
}

}  // namespace
}  // namespace l4d2
