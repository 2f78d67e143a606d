// deploy/systemd/ stays true: the shipped server template is what the agent writes with its
// default configuration, and systemd's own security analysis keeps the units' exposure within
// security.md's limits (game server <= 2.0, agent <= 3.5).

#include <sys/wait.h>

#include <filesystem>
#include <regex>

#include "agent/instance/unit_files.h"
#include "common/file_util.h"
#include "gtest/gtest.h"
#include "spec/spec.h"
#include "tests/testing/child_process.h"
#include "tests/testing/temp_dir.h"

namespace l4d2::testing {
namespace {

namespace fs = std::filesystem;

std::string Shipped(const std::string& name) {
  absl::StatusOr<std::string> text =
      ReadFileToString(std::string(L4D2_SOURCE_DIR) + "/deploy/systemd/" + name);
  return text.ok() ? *text : "";
}

double Exposure(const std::string& unit) {
  TempDir root;
  fs::create_directories(root.Sub("etc/systemd/system"));
  for (const char* file :
       {"left4me-server@.service", "left4me-agent.service", "left4me-controller.service"}) {
    fs::copy_file(std::string(L4D2_SOURCE_DIR) + "/deploy/systemd/" + file,
                  root.Sub(std::string("etc/systemd/system/") + file));
  }
  // A server as the agent runs it: its drop-in names its own account.
  fs::create_directories(root.Sub("etc/systemd/system/left4me-server@example.service.d"));
  EXPECT_TRUE(
      WriteFileAtomically(
          root.Sub("etc/systemd/system/left4me-server@example.service.d/50-instance.conf"),
          agent::RenderInstanceDropIn(spec::WithDefaults("example", {}), "left4me-server-1"))
          .ok());
  int status = 0;
  absl::StatusOr<std::string> output =
      RunToCompletion({.argv = {"/usr/bin/systemd-analyze", "security", "--offline=yes",
                                "--root=" + root.path(), "--no-pager", unit}},
                      &status);
  std::smatch match;
  if (!output.ok() ||
      !std::regex_search(*output, match,
                         std::regex(R"(Overall exposure level for \S+: ([0-9.]+))"))) {
    ADD_FAILURE() << (output.ok() ? *output : output.status().ToString());
    return 99;
  }
  return std::stod(match[1].str());
}

TEST(SystemdUnitsTest, TheShippedServerTemplateIsWhatTheAgentWrites) {
  EXPECT_EQ(Shipped("left4me-server@.service"), agent::RenderUnitTemplate({}))
      << "regenerate deploy/systemd/left4me-server@.service (docs/operations.md)";
}

TEST(SystemdUnitsTest, ServersAndBuildWorkRunInSlicesOffTheSystemsCores) {
  // Defaults: the servers' slice, every CPU (the reservation is the host's: the agent computes
  // it at start), no Nice.
  const std::string defaults = agent::RenderUnitTemplate({});
  EXPECT_NE(defaults.find("\nSlice=left4me-servers.slice\n"), std::string::npos);
  EXPECT_EQ(defaults.find("CPUAffinity="), std::string::npos);
  EXPECT_EQ(defaults.find("Nice="), std::string::npos);
  const agent::UnitTemplateOptions reserving{.cpus = "1-7", .nice = 2};
  const std::string pinned = agent::RenderUnitTemplate(reserving);
  EXPECT_NE(pinned.find("\nCPUAffinity=1-7\n"), std::string::npos);
  EXPECT_NE(pinned.find("\nNice=2\n"), std::string::npos);
  const std::vector<std::pair<std::string, std::string>> slices = agent::RenderSlices(reserving);
  ASSERT_EQ(slices.size(), 3u);
  EXPECT_EQ(slices[0].first, "left4me.slice");
  EXPECT_NE(slices[0].second.find("\nAllowedCPUs=1-7\n"), std::string::npos);
  EXPECT_EQ(slices[1].first, "left4me-servers.slice");
  EXPECT_EQ(slices[2].first, "left4me-work.slice");
  EXPECT_NE(slices[2].second.find("\nCPUWeight=20\n"), std::string::npos);
  EXPECT_EQ(agent::WorkSlice(reserving), "left4me-work.slice");
  EXPECT_EQ(agent::RenderSlices({}).front().second.find("AllowedCPUs="), std::string::npos);
  EXPECT_TRUE(agent::RenderSlices({.slice = ""}).empty());
  EXPECT_EQ(agent::RenderUnitTemplate({.slice = ""}).find("Slice="), std::string::npos);
  // A blueprint's own CPUs hold on cgroup v1 hosts too.
  agent::v1::InstanceSpec spec = spec::WithDefaults("example", {});
  spec.mutable_resources()->set_cpu_set("2-3");
  const std::string dropin = agent::RenderInstanceDropIn(spec, "");
  EXPECT_NE(dropin.find("\nAllowedCPUs=2-3\nCPUAffinity=2-3\n"), std::string::npos) << dropin;
}

TEST(SystemdUnitsTest, EveryServerRunsAsItsOwnAccount) {
  const agent::v1::InstanceSpec defaults = spec::WithDefaults("example", {});
  EXPECT_EQ(agent::RenderUnitTemplate({}).find("User="), std::string::npos);
  EXPECT_NE(
      agent::RenderInstanceDropIn(defaults, "left4me-server-7").find("\nUser=left4me-server-7\n"),
      std::string::npos);
  // Development (the manager's user) with the default spec needs no drop-in at all.
  EXPECT_EQ(agent::RenderInstanceDropIn(defaults, ""), "");
}

TEST(SystemdUnitsTest, ExposureStaysWithinTheLimits) {
  double server = Exposure("left4me-server@example.service");
  double agent = Exposure("left4me-agent.service");
  double controller = Exposure("left4me-controller.service");
  // Issue Isolation: with one account per server, at or below the 1.5 of the shared account.
  EXPECT_LE(server, 1.5);
  EXPECT_LE(agent, 3.5);
  EXPECT_LE(controller, 2.0);  // issue Deploy
  std::cout << "[ figure ] systemd-analyze security exposure: left4me-server@ " << server
            << " (limit 2.0), left4me-agent " << agent << " (limit 3.5), left4me-controller "
            << controller << " (limit 2.0)\n";
}

}  // namespace
}  // namespace l4d2::testing
