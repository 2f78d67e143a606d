// The whole controller in-process, built from a config as l4d2-controller's main builds it: it
// migrates its database, makes its CA at the first start, serves HTTP and host reports, stops
// cleanly; an address it cannot bind refuses it with the option named.

#include "controller/process/controller_process.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>

#include "controller/store/migrations.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/net.h"
#include "tests/testing/temp_dir.h"

namespace l4d2::controller {
namespace {

using ::testing::HasSubstr;
using ::testing::MatchesRegex;

class ControllerProcessTest : public ::testing::Test {
 protected:
  ControllerConfig Config() {
    ControllerConfig config;
    config.database = "sqlite3:" + dir_.Sub("controller.db");
    config.listen_http = "127.0.0.1:0";
    config.report_listen = "127.0.0.1:0";
    config.pki_dir = dir_.Sub("pki");
    config.web_root = "";
    config.agents_plaintext = true;
    config.job_workers = 2;
    return config;
  }

  l4d2::testing::TempDir dir_;
};

TEST_F(ControllerProcessTest, MigratesServesAndStops) {
  const ControllerConfig config = Config();
  absl::StatusOr<std::unique_ptr<Database>> db = OpenMigratedDatabase(config, Clock::Real());
  ASSERT_TRUE(db.ok()) << db.status();
  absl::StatusOr<int64_t> version = SchemaVersion(**db);
  ASSERT_TRUE(version.ok());
  EXPECT_GT(*version, 0);

  absl::StatusOr<std::unique_ptr<ControllerProcess>> controller =
      ControllerProcess::Start(config, *std::move(db), Clock::Real());
  ASSERT_TRUE(controller.ok()) << controller.status();
  const int port = (*controller)->http_port();
  EXPECT_GT(port, 0);
  EXPECT_GT((*controller)->report_port(), 0);
  EXPECT_TRUE(std::filesystem::exists(dir_.Sub("pki")));

  absl::StatusOr<l4d2::testing::HttpResponse> health =
      l4d2::testing::HttpRequest(port, "GET", "/healthz");
  ASSERT_TRUE(health.ok()) << health.status();
  EXPECT_EQ(health->status, 200);
  // The API is wired to the same database: the first-run state is visible.
  absl::StatusOr<l4d2::testing::HttpResponse> setup =
      l4d2::testing::HttpRequest(port, "GET", "/api/v1/servers");
  ASSERT_TRUE(setup.ok());
  EXPECT_EQ(setup->status, 401);

  (*controller)->Stop();
  (*controller)->Stop();  // idempotent
  controller->reset();
  EXPECT_FALSE(l4d2::testing::HttpRequest(port, "GET", "/healthz").ok());
}

TEST_F(ControllerProcessTest, AnAddressInUseIsRefusedNamingTheOption) {
  // A TCP port held by someone else.
  const int held = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{.sin_family = AF_INET, .sin_port = 0, .sin_addr = {htonl(INADDR_LOOPBACK)}};
  ASSERT_EQ(bind(held, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  ASSERT_EQ(listen(held, 1), 0);
  socklen_t length = sizeof(address);
  getsockname(held, reinterpret_cast<sockaddr*>(&address), &length);

  ControllerConfig config = Config();
  config.listen_http = "127.0.0.1:" + std::to_string(ntohs(address.sin_port));
  absl::StatusOr<std::unique_ptr<Database>> db = OpenMigratedDatabase(config, Clock::Real());
  ASSERT_TRUE(db.ok());
  absl::StatusOr<std::unique_ptr<ControllerProcess>> controller =
      ControllerProcess::Start(config, *std::move(db), Clock::Real());
  EXPECT_FALSE(controller.ok());
  close(held);

  // The report listener too, named by its option.
  const int udp = socket(AF_INET, SOCK_DGRAM, 0);
  address.sin_port = 0;
  ASSERT_EQ(bind(udp, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  length = sizeof(address);
  getsockname(udp, reinterpret_cast<sockaddr*>(&address), &length);
  config = Config();
  config.report_listen = "127.0.0.1:" + std::to_string(ntohs(address.sin_port));
  db = OpenMigratedDatabase(config, Clock::Real());
  ASSERT_TRUE(db.ok());
  controller = ControllerProcess::Start(config, *std::move(db), Clock::Real());
  ASSERT_FALSE(controller.ok());
  EXPECT_THAT(controller.status().message(), HasSubstr("agents.report_listen"));
  close(udp);
}

TEST_F(ControllerProcessTest, ABadDatabaseIsRefusedBeforeAnythingStarts) {
  ControllerConfig config = Config();
  config.database = "sqlite3:" + dir_.Sub("missing/dir/controller.db");
  EXPECT_FALSE(OpenMigratedDatabase(config, Clock::Real()).ok());
}

TEST(ProcessOwnerNameTest, NamesHostProcessAndStart) {
  EXPECT_THAT(ProcessOwnerName(Clock::Real()),
              MatchesRegex(".+-" + std::to_string(getpid()) + "-[0-9]+"));
}

}  // namespace
}  // namespace l4d2::controller
