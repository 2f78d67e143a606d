#include "agent/steam/steamcmd_output.h"

#include "gtest/gtest.h"

namespace l4d2::agent {
namespace {

TEST(SteamcmdOutputTest, ParsesProgressLines) {
  SteamcmdLine line = ParseSteamcmdLine(
      " Update state (0x61) downloading, progress: 12.34 (123456789 / 1000000000)");
  ASSERT_EQ(line.kind, SteamcmdLine::Kind::kProgress);
  EXPECT_EQ(line.state, "0x61");
  EXPECT_EQ(line.phase, "downloading");
  EXPECT_DOUBLE_EQ(line.percent, 12.34);
  EXPECT_EQ(line.bytes_done, 123456789u);
  EXPECT_EQ(line.bytes_total, 1000000000u);

  SteamcmdLine verifying =
      ParseSteamcmdLine(" Update state (0x81) verifying update, progress: 99.90 (999 / 1000)");
  ASSERT_EQ(verifying.kind, SteamcmdLine::Kind::kProgress);
  EXPECT_EQ(verifying.phase, "verifying update");

  SteamcmdLine reconfiguring =
      ParseSteamcmdLine(" Update state (0x3) reconfiguring, progress: 0.00 (0 / 0)");
  ASSERT_EQ(reconfiguring.kind, SteamcmdLine::Kind::kProgress);
  EXPECT_EQ(reconfiguring.bytes_total, 0u);
}

TEST(SteamcmdOutputTest, ClassifiesOutcomes) {
  EXPECT_EQ(ParseSteamcmdLine("Success! App '222860' fully installed.").kind,
            SteamcmdLine::Kind::kSuccess);
  EXPECT_TRUE(ParseSteamcmdLine("Success! App '222860' already up to date.").already_up_to_date);
  SteamcmdLine error =
      ParseSteamcmdLine("ERROR! Failed to install app '222860' (Invalid platform)");
  ASSERT_EQ(error.kind, SteamcmdLine::Kind::kError);
  EXPECT_EQ(error.message, "Failed to install app '222860' (Invalid platform)");
  EXPECT_EQ(ParseSteamcmdLine("FAILED (Invalid Password)").kind, SteamcmdLine::Kind::kError);
  EXPECT_EQ(ParseSteamcmdLine("Loading Steam API...OK").kind, SteamcmdLine::Kind::kOther);
  EXPECT_EQ(ParseSteamcmdLine(" Update state (0x61) downloading, progress: x (1 / 2)").kind,
            SteamcmdLine::Kind::kOther);
}

constexpr char kAppInfo[] = R"(Connecting anonymously to Steam Public...OK
AppID : 222860, change number : 25110000/0, last change : Sat Nov 21 12:00:00 2026
"222860"
{
	"common"
	{
		"name"		"Left 4 Dead 2 Dedicated Server"
	}
	"depots"
	{
		"branches"
		{
			"public"
			{
				"buildid"		"16233422"
				"timeupdated"		"1763726400"
			}
			"beta"
			{
				"buildid"		"16233500"
			}
		}
	}
}
Unloading Steam API...OK
)";

TEST(SteamcmdOutputTest, ReadsTheBuildOfABranchFromAppInfo) {
  EXPECT_EQ(*ParseAppInfoBuildId(kAppInfo, "222860", ""), "16233422");
  EXPECT_EQ(*ParseAppInfoBuildId(kAppInfo, "222860", "beta"), "16233500");
  EXPECT_EQ(ParseAppInfoBuildId(kAppInfo, "222860", "nope").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(ParseAppInfoBuildId(kAppInfo, "550", "").status().code(), absl::StatusCode::kNotFound);
  EXPECT_FALSE(ParseAppInfoBuildId("\"222860\"\n{\n\"depots\" {\n", "222860", "").ok());
}

}  // namespace
}  // namespace l4d2::agent
