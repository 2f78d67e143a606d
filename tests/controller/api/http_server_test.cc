#include "controller/api/http_server.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/net.h"
#include "tests/testing/temp_dir.h"

namespace l4d2::controller {
namespace {

using ::l4d2::testing::HttpRequest;
using ::testing::HasSubstr;

class HttpServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = Database::Open({.url = "sqlite3:" + dir_.Sub("c.db")});
    ASSERT_TRUE(db.ok());
    db_ = *std::move(db);
    auto server = HttpServer::Start({.address = "127.0.0.1:0", .threads = 1}, *db_);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
  }

  l4d2::testing::TempDir dir_;
  std::unique_ptr<Database> db_;
  std::unique_ptr<HttpServer> server_;
};

TEST_F(HttpServerTest, HealthAndReadiness) {
  ASSERT_GT(server_->port(), 0);
  auto health = HttpRequest(server_->port(), "GET", "/healthz");
  ASSERT_TRUE(health.ok()) << health.status();
  EXPECT_EQ(health->status, 200);
  EXPECT_EQ(health->body, R"({"status":"ok"})");
  EXPECT_THAT(health->headers, HasSubstr("application/json"));
  EXPECT_THAT(health->headers, HasSubstr("no-store"));
  auto ready = HttpRequest(server_->port(), "GET", "/readyz");
  ASSERT_TRUE(ready.ok());
  EXPECT_EQ(ready->status, 200);
}

TEST_F(HttpServerTest, UnknownRoutesAndMethodsAreNotServed) {
  EXPECT_EQ(HttpRequest(server_->port(), "GET", "/nope")->status, 404);
  EXPECT_NE(HttpRequest(server_->port(), "POST", "/healthz")->status, 200);
}

TEST(HttpServerStartTest, ATakenAddressIsUnavailable) {
  l4d2::testing::TempDir dir;
  auto db = Database::Open({.url = "sqlite3:" + dir.Sub("c.db")});
  ASSERT_TRUE(db.ok());
  auto first = HttpServer::Start({.address = "127.0.0.1:0", .threads = 1}, **db);
  ASSERT_TRUE(first.ok());
  // Pistache sets SO_REUSEADDR only, so a second listener on a live port must fail.
  auto second = HttpServer::Start(
      {.address = "127.0.0.1:" + std::to_string((*first)->port()), .threads = 1}, **db);
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace l4d2::controller
