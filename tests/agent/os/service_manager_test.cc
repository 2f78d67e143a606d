#include "agent/os/service_manager.h"

#include "gtest/gtest.h"

namespace l4d2::agent {
namespace {

// `systemctl show --timestamp=unix -p ...` of a running unit (systemd 252).
constexpr char kRunning[] = R"(LoadState=loaded
ActiveState=active
SubState=running
Result=success
MainPID=4242
ActiveEnterTimestamp=@1795305600
NRestarts=2
MemoryCurrent=104857600
CPUUsageNSec=1500000000
ExecMainStatus=0
)";

// A unit that never ran and has no accounting.
constexpr char kNeverRan[] = R"(LoadState=not-found
ActiveState=inactive
SubState=dead
Result=success
MainPID=0
ActiveEnterTimestamp=
NRestarts=0
MemoryCurrent=[not set]
CPUUsageNSec=18446744073709551615
ExecMainStatus=0
)";

TEST(ParseSystemctlShowTest, ReadsARunningUnit) {
  absl::StatusOr<UnitFacts> facts = ParseSystemctlShow(kRunning);
  ASSERT_TRUE(facts.ok()) << facts.status();
  EXPECT_EQ(facts->active_state, "active");
  EXPECT_EQ(facts->sub_state, "running");
  EXPECT_EQ(facts->main_pid, 4242);
  EXPECT_EQ(*facts->active_since, absl::FromUnixSeconds(1795305600));
  EXPECT_EQ(facts->restarts, 2u);
  EXPECT_EQ(*facts->memory_bytes, 100u << 20);
  EXPECT_EQ(*facts->cpu_usage, absl::Milliseconds(1500));
}

TEST(ParseSystemctlShowTest, UnsetValuesStayUnset) {
  absl::StatusOr<UnitFacts> facts = ParseSystemctlShow(kNeverRan);
  ASSERT_TRUE(facts.ok()) << facts.status();
  EXPECT_EQ(facts->load_state, "not-found");
  EXPECT_FALSE(facts->active_since.has_value());
  EXPECT_FALSE(facts->memory_bytes.has_value());
  EXPECT_FALSE(facts->cpu_usage.has_value());
}

TEST(ParseSystemctlShowTest, MalformedNumbersAreInvalid) {
  EXPECT_EQ(ParseSystemctlShow("MainPID=abc\n").status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace l4d2::agent

namespace l4d2::agent {
namespace {

TEST(ParseSystemctlListUnitsTest, ReadsNamesAndStates) {
  std::vector<UnitListing> units = ParseSystemctlListUnits(
      "left4me-server@s1.service loaded active   running left4me Left 4 Dead 2 server s1\n"
      "\u25cf left4me-server@s2.service loaded failed failed  left4me Left 4 Dead 2 server s2\n"
      "left4me-server@s3.service loaded inactive dead    left4me Left 4 Dead 2 server s3\n");
  ASSERT_EQ(units.size(), 3u);
  EXPECT_EQ(units[0].name, "left4me-server@s1.service");
  EXPECT_EQ(units[0].active_state, "active");
  EXPECT_EQ(units[1].name, "left4me-server@s2.service");
  EXPECT_EQ(units[1].sub_state, "failed");
  EXPECT_EQ(units[2].active_state, "inactive");
}

TEST(ValidateUnitNameTest, AcceptsTheAgentsUnitsAndPatternsOnly) {
  for (const char* good : {"left4me-server@s1.service", "left4me-server@*.service",
                           "left4me-overlay-script-12-0-1795.service"}) {
    EXPECT_TRUE(ValidateUnitName(good).ok()) << good;
  }
  for (const char* bad : {"", "--all", "a b.service", "x;reboot", "../x.service", "x\n.service"}) {
    EXPECT_EQ(ValidateUnitName(bad).code(), absl::StatusCode::kInvalidArgument) << bad;
  }
  EXPECT_FALSE(ValidateUnitName(std::string(257, 'a')).ok());
}

}  // namespace
}  // namespace l4d2::agent
