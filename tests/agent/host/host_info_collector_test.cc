#include "agent/host/host_info_collector.h"

#include <filesystem>
#include <fstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/fakes/fake_host_probe.h"
#include "tests/testing/temp_dir.h"

namespace l4d2::agent {
namespace {

using ::l4d2::testing::FakeHostProbe;
using ::l4d2::testing::TempDir;

class HostInfoCollectorTest : public ::testing::Test {
 protected:
  HostInfoCollectorTest() : layout_(dir_.path()) { EXPECT_TRUE(layout_.CreateDirectories().ok()); }

  TempDir dir_;
  HostLayout layout_;
  FakeHostProbe probe_;
};

TEST_F(HostInfoCollectorTest, ReportsHostFactsAndTheLayout) {
  HostInfoCollector collector(probe_, layout_, 27015, 27100, absl::FromUnixSeconds(1000));
  absl::StatusOr<v1::HostInfo> info = collector.Collect();
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->hostname(), "test-host");
  EXPECT_EQ(info->boot_id(), probe_.boot_id);
  EXPECT_EQ(info->cpu_count(), 4);
  EXPECT_EQ(info->memory_total_bytes(), 8ull << 30);
  EXPECT_EQ(info->disk_free_bytes(), 40ull << 30);
  EXPECT_EQ(probe_.last_disk_path, dir_.path());
  EXPECT_EQ(info->root(), dir_.path());
  EXPECT_EQ(info->port_range().first(), 27015);
  EXPECT_EQ(info->port_range().last(), 27100);
  EXPECT_EQ(info->agent_started_at().seconds(), 1000);
  EXPECT_EQ(info->installed_build_id(), "");
  EXPECT_EQ(info->instance_count(), 0);
  EXPECT_FALSE(info->agent_version().empty());
}

TEST_F(HostInfoCollectorTest, ReadsTheInstalledBuildAndCountsInstances) {
  std::filesystem::create_directories(layout_.installation_dir() + "/123/steamapps");
  std::filesystem::create_directory_symlink("123", layout_.current_installation());
  std::ofstream(layout_.current_app_manifest()) << "\"AppState\" { \"buildid\" \"123\" }";
  std::filesystem::create_directory(layout_.instances_dir() + "/s1");
  std::filesystem::create_directory(layout_.instances_dir() + "/s2");
  std::filesystem::create_directory(layout_.instances_dir() + "/.tmp-not-an-instance");
  HostInfoCollector collector(probe_, layout_, 27015, 27100, absl::Now());
  absl::StatusOr<v1::HostInfo> info = collector.Collect();
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->installed_build_id(), "123");
  EXPECT_EQ(info->instance_count(), 2);
}

// Ports in use: those instances hold and those any process bound, within the range, once each.
TEST_F(HostInfoCollectorTest, ReportsThePortsInUseByInstancesAndOtherProcesses) {
  probe_.bound_ports = {22, 27016, 27020, 27101};
  HostInfoCollector collector(probe_, layout_, 27015, 27100, absl::Now(), nullptr, [] {
    return std::vector<int>{27015, 27016};
  });
  absl::StatusOr<v1::HostInfo> info = collector.Collect();
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_THAT(info->ports_in_use(), ::testing::ElementsAre(27015, 27016, 27020));
}

TEST_F(HostInfoCollectorTest, AnUnreadableHostIsUnavailable) {
  probe_.memory_error = absl::NotFoundError("no /proc/meminfo");
  HostInfoCollector collector(probe_, layout_, 27015, 27100, absl::Now());
  EXPECT_EQ(collector.Collect().status().code(), absl::StatusCode::kUnavailable);
}

TEST(HostLayoutTest, CreatesTheTreeAndRefusesAFileInTheWay) {
  TempDir dir;
  HostLayout layout(dir.path() + "/root/");
  EXPECT_EQ(layout.root(), dir.path() + "/root");
  ASSERT_TRUE(layout.CreateDirectories().ok());
  for (const std::string& path :
       {layout.installation_dir(), layout.overlays_dir(), layout.instances_dir(),
        layout.runtime_dir(), layout.agent_dir(), layout.tmp_dir()}) {
    EXPECT_TRUE(std::filesystem::is_directory(path)) << path;
  }
  EXPECT_TRUE(layout.CreateDirectories().ok());  // Idempotent.
  std::filesystem::remove(layout.tmp_dir());
  std::ofstream(layout.tmp_dir()) << "x";
  EXPECT_EQ(layout.CreateDirectories().code(), absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace l4d2::agent
