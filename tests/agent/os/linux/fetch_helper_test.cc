// FetchHelper: downloads and extraction through the real left4me-fetch program, with its
// answers and errors mapped back to the canonical codes.

#include "agent/os/linux/fetch_helper.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "agent/os/linux/linux_process_runner.h"
#include "common/file_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/child_process.h"
#include "tests/testing/net.h"
#include "tests/testing/temp_dir.h"

namespace l4d2::agent {
namespace {

namespace fs = std::filesystem;
using ::l4d2::testing::TempDir;
using ::testing::HasSubstr;

class FetchHelperTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(dir_.Sub("web"));
    fs::create_directories(dir_.Sub("out"));
    std::ofstream(dir_.Sub("web/file.bin")) << std::string(5000, 'x');
    // Archives made by Python's tarfile, one of them hostile.
    int status = 0;
    ASSERT_TRUE(
        l4d2::testing::RunToCompletion(
            {.argv = {"/usr/bin/env", "python3", "-c",
                      "import io, tarfile, sys\n"
                      "def make(name, entries):\n"
                      "  with tarfile.open(name, 'w:gz') as t:\n"
                      "    for path, data in entries:\n"
                      "      info = tarfile.TarInfo(path); info.size = len(data)\n"
                      "      t.addfile(info, io.BytesIO(data))\n"
                      "make(sys.argv[1], [('pack/cfg/a.cfg', b'a'), ('pack/b.vpk', b'bb')])\n"
                      "make(sys.argv[2], [('../escaped.txt', b'no')])\n",
                      dir_.Sub("web/good.tar.gz"), dir_.Sub("web/evil.tar.gz")}},
            &status)
            .ok());
    ASSERT_EQ(status, 0);
    port_ = l4d2::testing::FreeGamePort();
    auto server =
        l4d2::testing::ChildProcess::Start({.argv = {"/usr/bin/env", "python3", "-m", "http.server",
                                                     "--bind", "127.0.0.1", std::to_string(port_)},
                                            .cwd = dir_.Sub("web")});
    ASSERT_TRUE(server.ok());
    server_ = *std::move(server);
    ASSERT_TRUE(server_->WaitForOutput("Serving HTTP"));
  }

  std::string Url(const std::string& name) {
    return absl::StrCat("http://127.0.0.1:", port_, "/", name);
  }

  TempDir dir_;
  int port_ = 0;
  std::unique_ptr<l4d2::testing::ChildProcess> server_;
  LinuxProcessRunner runner_;
  FetchHelper helper_{runner_, {.program = L4D2_FETCH_HELPER, .scratch_dir = dir_.path()}};
};

TEST_F(FetchHelperTest, DownloadsWithinLimitsAndMapsFailures) {
  absl::StatusOr<uint64_t> size =
      helper_.Fetch(Url("file.bin"), dir_.Sub("out/file.bin"), 1 << 20, absl::Seconds(30));
  ASSERT_TRUE(size.ok()) << size.status();
  EXPECT_EQ(*size, 5000u);
  EXPECT_EQ(fs::file_size(dir_.Sub("out/file.bin")), 5000u);
  EXPECT_EQ(
      helper_.Fetch(Url("missing"), dir_.Sub("out/m"), 1 << 20, absl::Seconds(30)).status().code(),
      absl::StatusCode::kUnavailable);
  EXPECT_EQ(
      helper_.Fetch(Url("file.bin"), dir_.Sub("out/big"), 100, absl::Seconds(30)).status().code(),
      absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(
      helper_.Fetch("file:///etc/shadow", dir_.Sub("out/s"), 100, absl::Seconds(5)).status().code(),
      absl::StatusCode::kInvalidArgument);
  FetchHelper missing(runner_, {.program = dir_.Sub("no-such-helper")});
  EXPECT_EQ(
      missing.Fetch(Url("file.bin"), dir_.Sub("out/x"), 100, absl::Seconds(5)).status().code(),
      absl::StatusCode::kUnavailable);
}

TEST_F(FetchHelperTest, ExtractsAndRefusesEscapingEntries) {
  absl::StatusOr<uint64_t> files =
      helper_.Extract(dir_.Sub("web/good.tar.gz"), dir_.Sub("out"), 1, {});
  ASSERT_TRUE(files.ok()) << files.status();
  EXPECT_EQ(*files, 2u);
  EXPECT_EQ(*ReadFileToString(dir_.Sub("out/cfg/a.cfg")), "a");
  fs::create_directories(dir_.Sub("jail"));
  absl::Status evil =
      helper_.Extract(dir_.Sub("web/evil.tar.gz"), dir_.Sub("jail"), 0, {}).status();
  EXPECT_EQ(evil.code(), absl::StatusCode::kInvalidArgument) << evil;
  EXPECT_THAT(evil.message(), HasSubstr("escaped.txt"));
  EXPECT_FALSE(fs::exists(dir_.Sub("escaped.txt")));
  EXPECT_EQ(helper_.Extract(dir_.Sub("web/file.bin"), dir_.Sub("jail"), 0, {}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(helper_.Extract(dir_.Sub("web/good.tar.gz"), dir_.Sub("jail"), 0, {.max_bytes = 2})
                .status()
                .code(),
            absl::StatusCode::kResourceExhausted);
}

// Issue Isolation, 5 and 8: HTTP and archives are parsed by an unprivileged account, never by
// root; what it wrote is root's again afterwards.
TEST_F(FetchHelperTest, TheWorkIsDoneAsAnUnprivilegedAccountAndTakenBack) {
  if (::getuid() != 0) GTEST_SKIP() << "dropping to another account needs root";
  int status = 0;
  absl::StatusOr<std::string> who = l4d2::testing::RunToCompletion(
      {.argv = {L4D2_FETCH_HELPER, "--as", "65534:65534", "id"}}, &status);
  ASSERT_TRUE(who.ok());
  EXPECT_EQ(*who, "ok 65534\n");
  who = l4d2::testing::RunToCompletion({.argv = {L4D2_FETCH_HELPER, "--as", "0:0", "id"}}, &status);
  EXPECT_THAT(*who, HasSubstr("never root"));

  // Downloads go to a directory of root's alone, as the agent's tmp/ is: the account reaches
  // only the file it is handed. Extractions go below directories it may pass, as overlays/.
  ::chmod(dir_.path().c_str(), 0755);
  fs::create_directories(dir_.Sub("private"));
  ::chmod(dir_.Sub("private").c_str(), 0700);
  FetchHelper dropped(
      runner_,
      {.program = L4D2_FETCH_HELPER, .scratch_dir = dir_.Sub("private"), .user = "nobody"});
  absl::StatusOr<uint64_t> size =
      dropped.Fetch(Url("file.bin"), dir_.Sub("private/file.bin"), 1 << 20, absl::Seconds(30));
  ASSERT_TRUE(size.ok()) << size.status();
  EXPECT_EQ(fs::file_size(dir_.Sub("private/file.bin")), 5000u);
  struct stat st {};
  ASSERT_EQ(::stat(dir_.Sub("private/file.bin").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 0u);
  fs::create_directories(dir_.Sub("out/x"));
  absl::StatusOr<uint64_t> files =
      dropped.Extract(dir_.Sub("web/good.tar.gz"), dir_.Sub("out/x"), 1, {});
  ASSERT_TRUE(files.ok()) << files.status();
  for (const char* path : {"out/x", "out/x/cfg", "out/x/cfg/a.cfg", "out/x/b.vpk"}) {
    ASSERT_EQ(::stat(dir_.Sub(path).c_str(), &st), 0) << path;
    EXPECT_EQ(st.st_uid, 0u) << path;
  }
  EXPECT_EQ(*ReadFileToString(dir_.Sub("out/x/cfg/a.cfg")), "a");
  // The account cannot write where it was not handed a directory.
  fs::create_directories(dir_.Sub("out/root-only"));
  ::chmod(dir_.Sub("out/root-only").c_str(), 0755);
  int code = 0;
  absl::StatusOr<std::string> refused = l4d2::testing::RunToCompletion(
      {.argv = {L4D2_FETCH_HELPER, "--as", "65534:65534", "extract", dir_.Sub("web/good.tar.gz"),
                dir_.Sub("out/root-only"), "1", "1000000", "100"}},
      &code);
  ASSERT_TRUE(refused.ok());
  EXPECT_THAT(*refused, HasSubstr("error"));
  EXPECT_FALSE(fs::exists(dir_.Sub("out/root-only/b.vpk")));
}

}  // namespace
}  // namespace l4d2::agent
