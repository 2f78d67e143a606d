#include "agent/steam/keyvalues.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace l4d2::agent {
namespace {

// As steamcmd writes it (tabs, nested sections).
constexpr char kAppManifest[] = R"("AppState"
{
	"appid"		"222860"
	"Universe"		"1"
	"name"		"Left 4 Dead 2 Dedicated Server"
	"StateFlags"		"4"
	"installdir"		"Left 4 Dead 2 Dedicated Server"
	"LastUpdated"		"1731000000"
	"SizeOnDisk"		"10739934445"
	"buildid"		"16233422"
	"InstalledDepots"
	{
		"222861"
		{
			"manifest"		"4407093395421470466"
			"size"		"10739934445"
		}
	}
	"UserConfig"
	{
	}
}
)";

TEST(KeyValuesTest, ReadsTheBuildIdOfAnAppManifest) {
  absl::StatusOr<std::string> build = ParseAppManifestBuildId(kAppManifest);
  ASSERT_TRUE(build.ok()) << build.status();
  EXPECT_EQ(*build, "16233422");
}

TEST(KeyValuesTest, KeysAreCaseInsensitiveAndPathsNest) {
  absl::StatusOr<KeyValues> root = ParseKeyValues(kAppManifest);
  ASSERT_TRUE(root.ok());
  const KeyValues* size = root->FindPath({"appstate", "INSTALLEDDEPOTS", "222861", "size"});
  ASSERT_NE(size, nullptr);
  EXPECT_EQ(size->value, "10739934445");
  EXPECT_EQ(root->FindPath({"AppState", "missing"}), nullptr);
}

TEST(KeyValuesTest, HandlesCommentsEscapesAndBareWords) {
  absl::StatusOr<KeyValues> root =
      ParseKeyValues("// comment\nroot { key \"a \\\"quoted\\\" value\" bare word }\n");
  ASSERT_TRUE(root.ok()) << root.status();
  EXPECT_EQ(root->FindPath({"root", "key"})->value, "a \"quoted\" value");
  EXPECT_EQ(root->FindPath({"root", "bare"})->value, "word");
}

TEST(KeyValuesTest, RejectsMalformedText) {
  EXPECT_EQ(ParseKeyValues("\"a\" {").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseKeyValues("}").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseKeyValues("\"a\" \"unterminated").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseKeyValues("\"lonely\"").status().code(), absl::StatusCode::kInvalidArgument);
  std::string deep;
  for (int i = 0; i < 40; ++i) deep += "k {";
  EXPECT_THAT(ParseKeyValues(deep).status().message(), ::testing::HasSubstr("too deep"));
}

TEST(KeyValuesTest, ManifestWithoutANumericBuildIdIsInvalid) {
  EXPECT_FALSE(ParseAppManifestBuildId("\"AppState\" { \"appid\" \"222860\" }").ok());
  EXPECT_FALSE(ParseAppManifestBuildId("\"AppState\" { \"buildid\" \"12a\" }").ok());
  EXPECT_FALSE(ParseAppManifestBuildId("\"AppState\" { \"buildid\" { } }").ok());
}

}  // namespace
}  // namespace l4d2::agent
