// Root tier: both ServiceManager implementations, sd-bus (the default) and systemctl (for a
// configured privileged wrapper), against the sandbox's real systemd manager, with the same
// expectations.

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>

#include "absl/strings/str_cat.h"
#include "agent/os/linux/linux_process_runner.h"
#include "agent/os/linux/sd_bus_service_manager.h"
#include "agent/os/linux/systemctl_service_manager.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace l4d2::agent {
namespace {

enum class Kind { kSdBus, kSystemctl };

class ServiceManagerTest : public ::testing::TestWithParam<Kind> {
 protected:
  void SetUp() override {
    const char* runtime = std::getenv("XDG_RUNTIME_DIR");
    if (getuid() != 0 || std::getenv("L4D2_SANDBOX") == nullptr || runtime == nullptr) {
      GTEST_SKIP() << "root tier: run as root inside tests/sandbox/run";
    }
    unit_dir_ = std::string(runtime) + "/systemd/user";
    if (GetParam() == Kind::kSdBus) {
      manager_ = std::make_unique<SdBusServiceManager>(
          SdBusOptions{.address = absl::StrCat("unix:path=", runtime, "/systemd/private"),
                       .timeout = absl::Seconds(30)});
    } else {
      manager_ = std::make_unique<SystemctlServiceManager>(
          runner_, SystemctlOptions{.command = {"/usr/bin/systemctl", "--user"},
                                    .env = {absl::StrCat("XDG_RUNTIME_DIR=", runtime)},
                                    .timeout = absl::Seconds(30)});
    }
    prefix_ = GetParam() == Kind::kSdBus ? "l4d2-sm-bus-" : "l4d2-sm-ctl-";
  }

  void TearDown() override {
    if (manager_ == nullptr) return;
    for (const std::string& unit : written_) {
      (void)manager_->Stop(unit);
      (void)manager_->ResetFailed(unit);
      std::filesystem::remove(unit_dir_ + "/" + unit);
    }
    (void)manager_->Reload();
  }

  std::string WriteUnit(const std::string& suffix, const std::string& service) {
    const std::string unit = prefix_ + suffix + ".service";
    std::ofstream(unit_dir_ + "/" + unit) << "[Service]\n" << service;
    written_.push_back(unit);
    return unit;
  }

  LinuxProcessRunner runner_;
  std::unique_ptr<ServiceManager> manager_;
  std::string unit_dir_;
  std::string prefix_;
  std::vector<std::string> written_;
};

TEST_P(ServiceManagerTest, StartsReadsListsAndStopsAUnit) {
  const std::string unit = WriteUnit("sleeper", "ExecStart=/bin/sleep 300\n");
  ASSERT_TRUE(manager_->Reload().ok());
  absl::StatusOr<UnitFacts> before = manager_->Facts(unit);
  ASSERT_TRUE(before.ok()) << before.status();
  EXPECT_THAT(before->load_state, ::testing::AnyOf("loaded", "not-loaded"));
  EXPECT_EQ(before->active_state, "inactive");
  EXPECT_EQ(before->main_pid, 0);

  ASSERT_TRUE(manager_->Start(unit).ok());
  absl::StatusOr<UnitFacts> running = manager_->Facts(unit);
  ASSERT_TRUE(running.ok()) << running.status();
  EXPECT_EQ(running->active_state, "active");
  EXPECT_EQ(running->sub_state, "running");
  EXPECT_EQ(running->result, "success");
  EXPECT_GT(running->main_pid, 0);
  ASSERT_TRUE(running->active_since.has_value());
  EXPECT_LT(absl::Now() - *running->active_since, absl::Minutes(1));
  EXPECT_EQ(running->restarts, 0u);
  // Starting a running unit is a no-op.
  ASSERT_TRUE(manager_->Start(unit).ok());
  EXPECT_EQ(manager_->Facts(unit)->main_pid, running->main_pid);

  absl::StatusOr<std::vector<UnitListing>> listed = manager_->ListUnits(prefix_ + "*.service");
  ASSERT_TRUE(listed.ok()) << listed.status();
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].name, unit);
  EXPECT_EQ((*listed)[0].active_state, "active");

  ASSERT_TRUE(manager_->Stop(unit).ok());
  EXPECT_EQ(manager_->Facts(unit)->active_state, "inactive");
  EXPECT_TRUE(manager_->Stop(unit).ok());  // Stopping a stopped unit is fine.
}

TEST_P(ServiceManagerTest, AFailedStartIsAPreconditionAndCanBeReset) {
  const std::string unit = WriteUnit("failing", "Type=oneshot\nExecStart=/bin/false\n");
  ASSERT_TRUE(manager_->Reload().ok());
  absl::Status started = manager_->Start(unit);
  EXPECT_EQ(started.code(), absl::StatusCode::kFailedPrecondition) << started;
  absl::StatusOr<UnitFacts> failed = manager_->Facts(unit);
  ASSERT_TRUE(failed.ok());
  EXPECT_EQ(failed->active_state, "failed");
  EXPECT_EQ(failed->result, "exit-code");
  EXPECT_EQ(failed->exec_main_status, 1);
  ASSERT_TRUE(manager_->ResetFailed(unit).ok());
  EXPECT_EQ(manager_->Facts(unit)->active_state, "inactive");
}

TEST_P(ServiceManagerTest, UnknownUnitsAndBadNames) {
  const std::string missing = prefix_ + "missing.service";
  absl::StatusOr<UnitFacts> facts = manager_->Facts(missing);
  ASSERT_TRUE(facts.ok()) << facts.status();
  EXPECT_THAT(facts->load_state, ::testing::AnyOf("not-found", "not-loaded"));
  EXPECT_EQ(facts->active_state, "inactive");
  EXPECT_TRUE(manager_->Stop(missing).ok());
  EXPECT_TRUE(manager_->ResetFailed(missing).ok());
  EXPECT_EQ(manager_->Start(missing).code(), absl::StatusCode::kFailedPrecondition);
  for (const char* bad : {"", "--all", "a b.service", "x;reboot", "../x.service"}) {
    EXPECT_EQ(manager_->Start(bad).code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_EQ(manager_->Facts(bad).status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
}

INSTANTIATE_TEST_SUITE_P(Implementations, ServiceManagerTest,
                         ::testing::Values(Kind::kSdBus, Kind::kSystemctl),
                         [](const ::testing::TestParamInfo<Kind>& info) {
                           return info.param == Kind::kSdBus ? "SdBus" : "Systemctl";
                         });

}  // namespace
}  // namespace l4d2::agent
