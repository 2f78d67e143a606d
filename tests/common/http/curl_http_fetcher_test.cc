// The libcurl fetcher against a local HTTP server (python3 -m http.server on loopback).
#include "common/http/curl_http_fetcher.h"

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "common/file_util.h"
#include "gtest/gtest.h"
#include "tests/testing/child_process.h"
#include "tests/testing/net.h"
#include "tests/testing/temp_dir.h"

namespace l4d2 {
namespace {

using ::l4d2::testing::TempDir;

TEST(CurlHttpFetcherTest, FetchesWithinLimitsAndReportsFailures) {
  TempDir dir;
  std::filesystem::create_directories(dir.Sub("www"));
  ASSERT_TRUE(WriteFileAtomically(dir.Sub("www/pack.tar.gz"), std::string(10000, 'x')).ok());
  const int port = l4d2::testing::FreeGamePort();
  absl::StatusOr<std::unique_ptr<l4d2::testing::ChildProcess>> server =
      l4d2::testing::ChildProcess::Start({.argv = {"/usr/bin/env", "python3", "-m", "http.server",
                                                   "--bind", "127.0.0.1", std::to_string(port)},
                                          .cwd = dir.Sub("www")});
  ASSERT_TRUE(server.ok());
  ASSERT_TRUE((*server)->WaitForOutput("Serving HTTP")) << (*server)->Output();
  const std::string base = absl::StrCat("http://127.0.0.1:", port, "/");
  CurlHttpFetcher fetcher;
  absl::StatusOr<uint64_t> size =
      fetcher.Fetch(base + "pack.tar.gz", dir.Sub("got"), 1 << 20, absl::Seconds(10));
  ASSERT_TRUE(size.ok()) << size.status();
  EXPECT_EQ(*size, 10000u);
  EXPECT_EQ(ReadFileToString(dir.Sub("got"))->size(), 10000u);
  EXPECT_EQ(
      fetcher.Fetch(base + "missing", dir.Sub("x"), 1 << 20, absl::Seconds(10)).status().code(),
      absl::StatusCode::kUnavailable);
  EXPECT_EQ(
      fetcher.Fetch(base + "pack.tar.gz", dir.Sub("x"), 1000, absl::Seconds(10)).status().code(),
      absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(
      fetcher.Fetch("file:///etc/passwd", dir.Sub("x"), 1 << 20, absl::Seconds(10)).status().code(),
      absl::StatusCode::kInvalidArgument);
  absl::StatusOr<std::string> body = fetcher.Get(base + "pack.tar.gz", 1 << 20, absl::Seconds(10));
  ASSERT_TRUE(body.ok()) << body.status();
  EXPECT_EQ(*body, std::string(10000, 'x'));
  EXPECT_EQ(fetcher.Get(base + "pack.tar.gz", 1000, absl::Seconds(10)).status().code(),
            absl::StatusCode::kResourceExhausted);
  absl::StatusOr<std::string> missing =
      fetcher.Get(base + "missing?key=SECRET", 1000, absl::Seconds(10));
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(missing.status().message().find("SECRET"), std::string::npos) << missing.status();
}

}  // namespace
}  // namespace l4d2
