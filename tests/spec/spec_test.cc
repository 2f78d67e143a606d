#include "spec/spec.h"

#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/fakes/srcds/srcds_options.h"

namespace l4d2::spec {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

v1::InstanceSpec Valid() {
  v1::InstanceSpec spec = WithDefaults("s1", {});
  spec.set_port(27016);
  return spec;
}

absl::Status Check(const v1::InstanceSpec& spec) { return ValidateSpec(spec, SpecLimits{}); }

TEST(SpecTest, DefaultsMakeAValidSpec) {
  v1::InstanceSpec spec = Valid();
  EXPECT_EQ(spec.hostname(), "left4me s1");
  EXPECT_EQ(spec.start_map(), "c1m1_hotel");
  EXPECT_EQ(spec.max_players(), 8);
  EXPECT_EQ(spec.game_mode(), "coop");
  EXPECT_EQ(spec.restart().mode(), v1::RestartPolicy::MODE_ON_FAILURE);
  EXPECT_EQ(spec.restart().hang_grace().seconds(), 120);  // hang detection on
  EXPECT_FALSE(spec.restart().restart_when_hung());
  EXPECT_TRUE(Check(spec).ok()) << Check(spec);
}

TEST(SpecTest, AHangGraceIsOffOrTenSecondsToAnHour) {
  for (int64_t seconds : {0, 10, 3600}) {
    v1::InstanceSpec spec = Valid();
    spec.mutable_restart()->mutable_hang_grace()->set_seconds(seconds);
    EXPECT_TRUE(Check(spec).ok()) << seconds;
  }
  for (int64_t seconds : {-1, 5, 3601}) {
    v1::InstanceSpec spec = Valid();
    spec.mutable_restart()->mutable_hang_grace()->set_seconds(seconds);
    EXPECT_THAT(Check(spec).message(), HasSubstr("hang_grace")) << seconds;
  }
  v1::InstanceSpec off;
  off.mutable_restart()->mutable_hang_grace()->set_seconds(0);
  EXPECT_EQ(WithDefaults("s1", off).restart().hang_grace().seconds(), 0);  // off stays off
}

TEST(SpecTest, RejectsPortsOutsideTheRange) {
  v1::InstanceSpec spec = Valid();
  spec.set_port(80);
  EXPECT_THAT(Check(spec).message(), HasSubstr("outside this host's range"));
}

TEST(SpecTest, RejectsSettingsNotOnTheAllowList) {
  for (const char* name : {"rcon_password", "hostname", "exec", "alias", "sv_setsteamaccount",
                           "quit", "", "SV_PASSWORD", "sv_password;quit"}) {
    v1::InstanceSpec spec = Valid();
    v1::Cvar* cvar = spec.add_cvars();
    cvar->set_name(name);
    cvar->set_value("1");
    EXPECT_EQ(Check(spec).code(), absl::StatusCode::kInvalidArgument) << name;
  }
  for (const char* name : {"-console", "+exec", "-game", "-port", "+rcon_password", "-insecure2",
                           "+map", "-condebug", "-norestart"}) {
    v1::InstanceSpec spec = Valid();
    spec.add_launch_arguments()->set_name(name);
    EXPECT_EQ(Check(spec).code(), absl::StatusCode::kInvalidArgument) << name;
  }
}

// Values that would end a quoted value or start another command or argument.
const char* const kHostileValues[] = {"x\"; rcon_password \"owned",
                                      "a;quit",
                                      "line\nquit",
                                      "line\rquit",
                                      "back\\slash",
                                      "+exec evil",
                                      "-insecure",
                                      "x\" \"y",
                                      "\x01",
                                      "tab\tbed",
                                      "nul\0",
                                      "a\"",
                                      "exec autoexec",
                                      "1; sv_cheats 1",
                                      "0 +exec x",
                                      "27015 -insecure",
                                      "-1e9",
                                      "0x10"};

TEST(SpecTest, HostileValuesCannotInject) {
  for (const char* value : kHostileValues) {
    v1::InstanceSpec with_hostname = Valid();
    with_hostname.set_hostname(value);
    v1::InstanceSpec with_text = Valid();
    *with_text.add_cvars() = [&] {
      v1::Cvar c;
      c.set_name("sv_password");
      c.set_value(value);
      return c;
    }();
    v1::InstanceSpec with_token = Valid();
    with_token.add_cvars()->set_name("sv_gametypes");
    with_token.mutable_cvars(0)->set_value(value);
    v1::InstanceSpec with_argument = Valid();
    with_argument.add_launch_arguments()->set_name("-tickrate");
    with_argument.mutable_launch_arguments(0)->set_value(value);
    for (const v1::InstanceSpec* spec : {&with_hostname, &with_text, &with_token, &with_argument}) {
      absl::Status status = Check(*spec);
      if (!status.ok()) continue;
      // Accepted: then it must stay one value. server.cfg has exactly its own commands, each
      // with one value, and the arguments are exactly the generated ones plus one pair.
      ServerCfgInput input{.name = "s1", .spec = *spec, .rcon_password = "pw"};
      std::vector<std::vector<std::string>> commands;
      for (absl::string_view line : absl::StrSplit(RenderServerCfg(input), '\n')) {
        for (auto& command : fakes::SplitConsoleLine(std::string(line))) {
          commands.push_back(command);
        }
      }
      EXPECT_EQ(commands.size(), 3u + spec->cvars_size()) << "value: " << value;
      for (const auto& command : commands) EXPECT_EQ(command.size(), 2u) << "value: " << value;
      EXPECT_EQ(LaunchArguments(*spec, "0.0.0.0").size(), 14u + 2 * spec->launch_arguments_size());
    }
  }
}

TEST(SpecTest, TypedValuesAreChecked) {
  auto with = [](const char* name, const char* value) {
    v1::InstanceSpec spec = Valid();
    spec.add_cvars()->set_name(name);
    spec.mutable_cvars(0)->set_value(value);
    return Check(spec);
  };
  EXPECT_TRUE(with("sv_alltalk", "1").ok());
  EXPECT_FALSE(with("sv_alltalk", "2").ok());
  EXPECT_TRUE(with("sv_region", "3").ok());
  EXPECT_FALSE(with("sv_region", "3.5").ok());
  EXPECT_FALSE(with("sv_region", "999").ok());
  EXPECT_TRUE(with("sv_client_min_interp_ratio", "-1").ok());
  EXPECT_TRUE(with("sv_password", "my secret pass").ok());
  EXPECT_TRUE(with("sv_gametypes", "coop,realism").ok());
  EXPECT_FALSE(with("sv_gametypes", "coop realism").ok());
}

TEST(SpecTest, OverlaysResourcesAndRestartAreChecked) {
  v1::InstanceSpec spec = Valid();
  spec.add_overlays()->set_ref("../etc");
  EXPECT_THAT(Check(spec).message(), HasSubstr("spec.overlays[0]"));
  spec = Valid();
  spec.add_overlays()->set_ref("standard");
  spec.add_overlays()->set_ref("standard");
  EXPECT_THAT(Check(spec).message(), HasSubstr("listed twice"));
  spec = Valid();
  spec.mutable_resources()->set_memory_high_bytes(2 << 30);
  spec.mutable_resources()->set_memory_max_bytes(1 << 30);
  EXPECT_FALSE(Check(spec).ok());
  spec = Valid();
  spec.mutable_resources()->set_cpu_set("0-3; rm");
  EXPECT_FALSE(Check(spec).ok());
  spec = Valid();
  spec.mutable_restart()->mutable_delay()->set_seconds(7200);
  EXPECT_FALSE(Check(spec).ok());
}

TEST(SpecTest, RendersServerCfgAndArguments) {
  v1::InstanceSpec spec = Valid();
  spec.set_hostname("Versus #1");
  spec.set_game_mode("versus");
  spec.add_cvars()->set_name("sv_alltalk");
  spec.mutable_cvars(0)->set_value("1");
  spec.add_launch_arguments()->set_name("-tickrate");
  spec.mutable_launch_arguments(0)->set_value("100");
  spec.add_launch_arguments()->set_name("-nohltv");
  ServerCfgInput input{.name = "s1",
                       .spec = spec,
                       .rcon_password = "Secret-1",
                       .exec_files = {OverlayCfgName("competitive/base")}};
  EXPECT_EQ(RenderServerCfg(input),
            "// Written by l4d2-agent for instance 's1'. Replaced at every initialize: change "
            "the spec, not this file.\n"
            "hostname \"Versus #1\"\nrcon_password \"Secret-1\"\nmp_gamemode \"versus\"\n"
            "sv_alltalk \"1\"\nexec server_competitive_base.cfg\n");
  // With the agent's log listener: its lines last, after what overlays execute (an overlay's
  // `log off` or `logaddress_add` cannot take the stream away).
  input.log_address = "192.0.2.2:27014";
  input.log_secret = "123456789";
  EXPECT_THAT(RenderServerCfg(input),
              ::testing::EndsWith("exec server_competitive_base.cfg\n"
                                  "// The agent's game log listener (players, maps, update "
                                  "requests).\nlog on\nsv_logsecret \"123456789\"\n"
                                  "logaddress_add 192.0.2.2:27014\n"));
  EXPECT_THAT(LaunchArguments(spec, "0.0.0.0"),
              ElementsAre("-game", "left4dead2", "-port", "27016", "+ip", "0.0.0.0",
                          "-strictportbind", "-norestart", "-maxplayers", "8", "+servercfgfile",
                          "server.cfg", "+map", "c1m1_hotel", "-tickrate", "100", "-nohltv"));
}

}  // namespace
}  // namespace l4d2::spec
