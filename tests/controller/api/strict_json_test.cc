// The strict pass over request bodies: what protobuf's JSON parser would accept and the schema
// does not is refused naming the field; what the schema allows passes.

#include "controller/api/strict_json.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "l4d2/controller/v1/api.pb.h"

namespace l4d2::controller {
namespace {

using ::testing::HasSubstr;

absl::Status Check(absl::string_view json) {
  return CheckStrictJson(json, v1::BlueprintInput::descriptor());
}

TEST(StrictJsonTest, WhatTheSchemaAllowsPasses) {
  EXPECT_TRUE(Check(R"({})").ok());
  EXPECT_TRUE(Check(R"( {"name":"versus","settings":{"gameMode":"versus","maxPlayers":8,
      "cvars":[{"name":"sv_cheats","value":"0"}],"restart":{"delay":"5s"}},
      "overlays":[{"overlayId":"o1","exec_server_cfg":true}]} )")
                  .ok());
  // Strings with escapes, numbers in their JSON forms, null, an empty list.
  EXPECT_TRUE(Check(R"({"name":"a\"b\\u0041","settings":{"maxPlayers":-1e2,"cvars":[]}})").ok());
  // Unknown fields are protobuf's to refuse (with their name); skipped over here.
  EXPECT_TRUE(Check(R"({"unknown":[[1]],"name":"x"})").ok());
}

TEST(StrictJsonTest, WhatProtobufWouldSwallowIsRefusedNamingTheField) {
  struct Case {
    const char* json;
    const char* message;
  };
  for (const Case& c : std::vector<Case>{
           {R"({"settings":{"cvars":[[[]]]}})", "settings.cvars[0]: a list inside a list"},
           {R"({"settings":{"cvars":[{"name":"a"},[]]}})", "settings.cvars[1]: a list inside"},
           {R"({"overlays":[[{"overlayId":"o1"}]]})", "overlays[0]: a list inside a list"},
           {R"({"name":"a","name":"b"})", "name: given twice"},
           {R"({"settings":{"cvars":[{"name":"a","name":"b"}]}})",
            "settings.cvars[0].name: given twice"},
           {R"({"settings":[]})", "settings: expected an object, not a list"},
           {R"({"overlays":{}})", "overlays: expected a list, not an object"},
           {R"({"name":{"x":1}})", "name: expected a value, not an object"},
           {R"({"name":["x"]})", "name: expected a value, not a list"},
           {R"({"name":"x"} trailing)", "text after the JSON value"},
           {R"({"name":"x)", "an unterminated string"},
           {R"({"name" "x"})", "expected ':'"},
       }) {
    absl::Status status = Check(c.json);
    EXPECT_TRUE(absl::IsInvalidArgument(status)) << c.json;
    EXPECT_THAT(status.message(), HasSubstr(c.message)) << c.json;
  }
  // Depth is bounded (a stack per level).
  std::string deep(100, '[');
  EXPECT_THAT(CheckStrictJson(R"({"unknown":)" + deep, v1::BlueprintInput::descriptor()).message(),
              HasSubstr("nested too deep"));
}

}  // namespace
}  // namespace l4d2::controller
