#include "tests/fakes/srcds/srcds_options.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace l4d2::fakes {
namespace {

using ::testing::ElementsAre;

TEST(SrcdsOptionsTest, ParsesTheRealArgumentSyntax) {
  SrcdsOptions options;
  std::string error;
  ASSERT_TRUE(ParseSrcdsArguments(
      {"-game", "left4dead2", "-port", "27020", "+ip", "127.0.0.1", "+map", "c2m1_highway",
       "-maxplayers", "12", "+servercfgfile", "custom.cfg", "-norestart", "-strictportbind",
       "-tickrate", "100", "+sv_setsteamaccount", "TOKEN", "-nohltv"},
      &options, &error))
      << error;
  EXPECT_EQ(options.port, 27020);
  EXPECT_EQ(options.ip, "127.0.0.1");
  EXPECT_EQ(options.max_players, 12);
  EXPECT_EQ(options.server_cfg_file, "custom.cfg");
  EXPECT_TRUE(options.norestart);
  EXPECT_TRUE(options.strict_port_bind);
  EXPECT_EQ(options.tickrate, "100");
  ASSERT_EQ(options.startup_commands.size(), 2u);
  EXPECT_THAT(options.startup_commands[0], ElementsAre("map", "c2m1_highway"));
  EXPECT_THAT(options.startup_commands[1], ElementsAre("sv_setsteamaccount", "TOKEN"));
  EXPECT_THAT(options.ignored, ElementsAre("-nohltv"));
}

TEST(SrcdsOptionsTest, RejectsBadValues) {
  SrcdsOptions options;
  std::string error;
  EXPECT_FALSE(ParseSrcdsArguments({"-port", "abc"}, &options, &error));
  EXPECT_FALSE(ParseSrcdsArguments({"-maxplayers", "99"}, &options, &error));
  EXPECT_FALSE(ParseSrcdsArguments({"-port"}, &options, &error));
}

TEST(SrcdsOptionsTest, SplitsConsoleLinesLikeTheSourceConsole) {
  EXPECT_THAT(SplitConsoleLine("hostname \"My; Server\"; sv_cheats 0 // comment; quit"),
              ElementsAre(ElementsAre("hostname", "My; Server"), ElementsAre("sv_cheats", "0")));
  EXPECT_THAT(SplitConsoleLine("  exec   server_a.cfg  "),
              ElementsAre(ElementsAre("exec", "server_a.cfg")));
  EXPECT_TRUE(SplitConsoleLine("// only a comment").empty());
  EXPECT_THAT(SplitConsoleLine("say \"\""), ElementsAre(ElementsAre("say", "")));
}

}  // namespace
}  // namespace l4d2::fakes
