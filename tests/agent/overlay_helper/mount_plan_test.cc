#include "agent/overlay_helper/mount_plan.h"

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace l4d2::agent {
namespace {

TEST(MountPlanTest, AcceptsTheAgentsPlan) {
  absl::StatusOr<std::vector<std::string>> plan =
      ParseMountPlan("s1",
                     "instances/s1/layer\noverlays/competitive+base/3\noverlays/standard/1\n"
                     "installation/9000001\n");
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_THAT(*plan, ::testing::ElementsAre("instances/s1/layer", "overlays/competitive+base/3",
                                            "overlays/standard/1", "installation/9000001"));
  EXPECT_TRUE(ParseMountPlan("s1", "instances/s1/layer\ninstallation/9000001.2").ok());
}

TEST(MountPlanTest, WhatTheAgentRendersTheHelperReadsBack) {
  MountPlan plan{.instance = "s1",
                 .overlays = {{.ref = "competitive/base", .version = "3"},
                              {.ref = "standard", .version = "1"}},
                 .installation = "9000001"};
  const std::string text = RenderMountPlan(plan);
  // A ref is one directory ('/' as '+'): refs never nest on disk.
  EXPECT_EQ(text,
            "instances/s1/layer\noverlays/competitive+base/3\noverlays/standard/1\n"
            "installation/9000001\n");
  absl::StatusOr<std::vector<std::string>> layers = ParseMountPlan("s1", text);
  ASSERT_TRUE(layers.ok()) << layers.status();
  EXPECT_THAT(*layers, ::testing::ElementsAre("instances/s1/layer", "overlays/competitive+base/3",
                                              "overlays/standard/1", "installation/9000001"));
  // No overlays, and the most a plan may hold.
  EXPECT_TRUE(ParseMountPlan("s1", RenderMountPlan({.instance = "s1", .installation = "7"})).ok());
  for (int i = 0; i < kMaxLowerLayers - 2; ++i) {
    plan.overlays.push_back({.ref = absl::StrCat("o", i), .version = "1"});
  }
  EXPECT_FALSE(ParseMountPlan("s1", RenderMountPlan(plan)).ok());  // two too many
  plan.overlays.resize(kMaxLowerLayers - 2);
  EXPECT_TRUE(ParseMountPlan("s1", RenderMountPlan(plan)).ok());
  // The renderer does not validate; the helper's parser refuses what it must.
  EXPECT_FALSE(ParseMountPlan("s1", RenderMountPlan({.instance = "s1",
                                                     .overlays = {{.ref = "../x", .version = "1"}},
                                                     .installation = "7"}))
                   .ok());
  EXPECT_FALSE(ParseMountPlan("s2", RenderMountPlan({.instance = "s1", .installation = "7"})).ok());
}

TEST(MountPlanTest, RefusesEverythingElse) {
  const char* const plans[] = {
      "",
      "instances/s1/layer\n",
      "installation/9000001\n",
      "instances/s2/layer\ninstallation/1\n",          // Another instance's layer.
      "instances/s1/layer\ninstallation/../../etc\n",  // Escapes.
      "instances/s1/layer\ninstallation/.staging-x\n",
      "instances/s1/layer\n/etc\ninstallation/1\n",
      "instances/s1/layer\noverlays/../x/1\ninstallation/1\n",
      "instances/s1/layer\noverlays/std\ninstallation/1\n",  // No version.
      "instances/s1/layer\noverlays/std/1/../../..\ninstallation/1\n",
      "instances/s1/layer\noverlays/std/current\ninstallation/1\n\ninstallation/2\n",
      "instances/s1/layer\ninstallation/1\noverlays/std/1\n",  // Install not last.
      "instances/s1/layer\ninstances/s1/layer\ninstallation/1\n",
      "instances/s1/layer\noverlays/a:b/1\ninstallation/1\n",  // ':' splits lowerdir.
      "instances/s1/layer\noverlays/a,b/1\ninstallation/1\n",  // ',' splits options.
      // Nested paths (the layout before one directory per ref), and through a ref's link.
      "instances/s1/layer\noverlays/competitive/base/3\ninstallation/1\n",
      "instances/s1/layer\noverlays/b/current/x/1\ninstallation/1\n",
      "instances/s1/layer\noverlays/a++b/1\ninstallation/1\n",
      "instances/s1/layer\noverlays/+a/1\ninstallation/1\n",
      "instances/s1/layer\ninstallation/1 \n",
  };
  for (const char* plan : plans) {
    EXPECT_EQ(ParseMountPlan("s1", plan).status().code(), absl::StatusCode::kInvalidArgument)
        << plan;
  }
  std::string many = "instances/s1/layer\n";
  for (int i = 0; i < 20; ++i) many += "overlays/o" + std::to_string(i) + "/1\n";
  EXPECT_FALSE(ParseMountPlan("s1", many + "installation/1\n").ok());
  EXPECT_FALSE(ParseMountPlan("../s1", "instances/../s1/layer\ninstallation/1\n").ok());
}

}  // namespace
}  // namespace l4d2::agent
