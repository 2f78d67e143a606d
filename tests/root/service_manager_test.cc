// Root tier: both ServiceManager implementations, sd-bus (the default) and systemctl (for a
// configured privileged wrapper), against the sandbox's real systemd manager, with the same
// expectations.

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
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

// An agent's report reads every instance's unit at once: the same facts as one by one, per
// unit in order, a bad name failing alone. Over D-Bus: one connection, the calls pipelined;
// 40 units read so in less time than 40 one after another.
TEST_P(ServiceManagerTest, FactsOfManyUnitsAtOnce) {
  std::vector<std::string> units;
  for (int i = 0; i < 40; ++i) {
    units.push_back(WriteUnit(absl::StrCat("many", i), "ExecStart=/bin/sleep 300\n"));
  }
  const std::string failing = WriteUnit("many-failing", "Type=oneshot\nExecStart=/bin/false\n");
  ASSERT_TRUE(manager_->Reload().ok());
  for (int i = 0; i < 40; i += 2) ASSERT_TRUE(manager_->Start(units[i]).ok());
  (void)manager_->Start(failing);
  std::vector<std::string> asked = units;
  asked.push_back(failing);
  asked.push_back(prefix_ + "never-written.service");
  asked.push_back("x;reboot");
  absl::Time started = absl::Now();
  std::vector<absl::StatusOr<UnitFacts>> all = manager_->FactsOfAll(asked);
  const absl::Duration together = absl::Now() - started;
  ASSERT_EQ(all.size(), asked.size());
  started = absl::Now();
  for (size_t i = 0; i + 1 < asked.size(); ++i) {
    absl::StatusOr<UnitFacts> one = manager_->Facts(asked[i]);
    ASSERT_TRUE(one.ok()) << asked[i] << ": " << one.status();
    ASSERT_TRUE(all[i].ok()) << asked[i] << ": " << all[i].status();
    EXPECT_EQ(all[i]->load_state, one->load_state) << asked[i];
    EXPECT_EQ(all[i]->active_state, one->active_state) << asked[i];
    EXPECT_EQ(all[i]->sub_state, one->sub_state) << asked[i];
    EXPECT_EQ(all[i]->result, one->result) << asked[i];
    EXPECT_EQ(all[i]->main_pid, one->main_pid) << asked[i];
    EXPECT_EQ(all[i]->exec_main_status, one->exec_main_status) << asked[i];
    EXPECT_EQ(all[i]->active_since, one->active_since) << asked[i];
  }
  const absl::Duration one_by_one = absl::Now() - started;
  EXPECT_EQ(all[0]->active_state, "active");
  EXPECT_GT(all[0]->main_pid, 0);
  EXPECT_EQ(all[1]->active_state, "inactive");
  EXPECT_EQ(all[40]->active_state, "failed");
  EXPECT_EQ(all[40]->exec_main_status, 1);
  EXPECT_EQ(all[41]->active_state, "inactive");
  EXPECT_EQ(all.back().status().code(), absl::StatusCode::kInvalidArgument);
  std::cout << "facts of 43 units: " << absl::FormatDuration(together) << " at once, "
            << absl::FormatDuration(one_by_one) << " one by one\n";
  if (GetParam() == Kind::kSdBus) {
    EXPECT_LT(together, one_by_one);
  }
}

INSTANTIATE_TEST_SUITE_P(Implementations, ServiceManagerTest,
                         ::testing::Values(Kind::kSdBus, Kind::kSystemctl),
                         [](const ::testing::TestParamInfo<Kind>& info) {
                           return info.param == Kind::kSdBus ? "SdBus" : "Systemctl";
                         });

}  // namespace
}  // namespace l4d2::agent
