#include "spec/spec_yaml.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "spec/spec.h"

namespace l4d2::spec {
namespace {

using ::testing::HasSubstr;

TEST(SpecYamlTest, TheDocumentedExamplesLoadAndValidate) {
  for (const char* example : {"instance-spec.yaml", "dev-spec.yaml"}) {
    absl::StatusOr<agent::v1::InstanceSpec> spec =
        LoadInstanceSpecFile(std::string(L4D2_SOURCE_DIR) + "/docs/examples/" + example);
    ASSERT_TRUE(spec.ok()) << example << ": " << spec.status();
    agent::v1::InstanceSpec full = spec::WithDefaults("s1", *spec);
    EXPECT_TRUE(spec::ValidateSpec(full, {}).ok())
        << example << ": " << spec::ValidateSpec(full, {});
  }
  absl::StatusOr<agent::v1::InstanceSpec> spec =
      LoadInstanceSpecFile(std::string(L4D2_SOURCE_DIR) + "/docs/examples/instance-spec.yaml");
  EXPECT_EQ(spec->game_mode(), "versus");
  EXPECT_EQ(spec->resources().memory_max_bytes(), 2048ull << 20);
  ASSERT_EQ(spec->overlays_size(), 2);
  EXPECT_TRUE(spec->overlays(0).exec_server_cfg());
  EXPECT_FALSE(spec->overlays(1).exec_server_cfg());
  EXPECT_EQ(spec->restart().mode(), agent::v1::RestartPolicy::MODE_ON_FAILURE);
}

TEST(SpecYamlTest, HangDetectionIsReadOnlyWhenGiven) {
  absl::StatusOr<agent::v1::InstanceSpec> off =
      ParseInstanceSpecYaml("port: 1\nrestart: {hang_grace: 0s, restart_when_hung: true}\n", "s");
  ASSERT_TRUE(off.ok()) << off.status();
  EXPECT_TRUE(off->restart().has_hang_grace());
  EXPECT_EQ(off->restart().hang_grace().seconds(), 0);
  EXPECT_TRUE(off->restart().restart_when_hung());
  absl::StatusOr<agent::v1::InstanceSpec> plain = ParseInstanceSpecYaml("port: 1\n", "s");
  ASSERT_TRUE(plain.ok());
  EXPECT_FALSE(plain->restart().has_hang_grace());  // the default (120s) applies
}

TEST(SpecYamlTest, RejectsWhatIsNotASpec) {
  EXPECT_THAT(ParseInstanceSpecYaml("hostname: x\n", "s").status().message(),
              HasSubstr("port: is required"));
  EXPECT_THAT(ParseInstanceSpecYaml("port: 1\nprot: 2\n", "s").status().message(),
              HasSubstr("prot: unknown key"));
  EXPECT_THAT(ParseInstanceSpecYaml("port: &a 1\nmax_players: *a\n", "s").status().message(),
              HasSubstr("not allowed"));
  EXPECT_THAT(
      ParseInstanceSpecYaml("port: 1\nrestart: {mode: sometimes}\n", "s").status().message(),
      HasSubstr("restart.mode"));
  EXPECT_FALSE(ParseInstanceSpecYaml("port: 1\ncvars: {a: [1]}\n", "s").ok());
  EXPECT_FALSE(ParseInstanceSpecYaml(std::string(300 * 1024, '#'), "s").ok());
}

}  // namespace
}  // namespace l4d2::spec
