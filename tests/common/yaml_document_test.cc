#include "common/yaml_document.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace l4d2 {
namespace {

using ::testing::HasSubstr;

absl::Status ParseError(const std::string& text, const YamlLimits& limits = {}) {
  return ParseYamlDocument(text, "test document", limits).status();
}

TEST(ParseYamlDocumentTest, AcceptsAPlainDocument) {
  absl::StatusOr<YAML::Node> node = ParseYamlDocument("a: 1\nb: [x, y]\nc: {d: e}\n", "doc");
  ASSERT_TRUE(node.ok()) << node.status();
  EXPECT_EQ((*node)["a"].as<int>(), 1);
  EXPECT_EQ((*node)["b"][1].as<std::string>(), "y");
  EXPECT_EQ((*node)["c"]["d"].as<std::string>(), "e");
}

TEST(ParseYamlDocumentTest, EmptyDocumentIsNull) {
  absl::StatusOr<YAML::Node> node = ParseYamlDocument("", "doc");
  ASSERT_TRUE(node.ok());
  EXPECT_FALSE(node->IsDefined() && !node->IsNull());
}

TEST(ParseYamlDocumentTest, RejectsAnchorsAndAliases) {
  EXPECT_THAT(ParseError("a: &x 1\nb: *x\n").message(), HasSubstr("anchors are not allowed"));
  EXPECT_THAT(ParseError("a: &x [1]\n").message(), HasSubstr("anchors are not allowed"));
  EXPECT_THAT(ParseError("- &a {k: v}\n- *a\n").message(), HasSubstr("not allowed"));
}

TEST(ParseYamlDocumentTest, RejectsTheBillionLaughsQuickly) {
  std::string bomb = "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n";
  for (char c = 'b'; c <= 'j'; ++c) {
    std::string previous(1, static_cast<char>(c - 1));
    absl::StrAppend(&bomb, std::string(1, c), ": &", std::string(1, c), " [*", previous, ",*",
                    previous, ",*", previous, ",*", previous, ",*", previous, ",*", previous, ",*",
                    previous, ",*", previous, "]\n");
  }
  absl::Time start = absl::Now();
  absl::Status status = ParseError(bomb);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_LT(absl::Now() - start, absl::Milliseconds(100));
}

TEST(ParseYamlDocumentTest, RejectsDuplicateKeys) {
  EXPECT_THAT(ParseError("port: 1\nport: 2\n").message(), HasSubstr("duplicate key 'port'"));
  EXPECT_THAT(ParseError("a: {x: 1, x: 2}\n").message(), HasSubstr("duplicate key 'x'"));
}

TEST(ParseYamlDocumentTest, AllowsTheSameKeyInDifferentMappings) {
  EXPECT_TRUE(ParseYamlDocument("a: {x: 1}\nb: {x: 2}\n", "doc").ok());
}

TEST(ParseYamlDocumentTest, RejectsTagsComplexKeysNulAndManyDocuments) {
  EXPECT_THAT(ParseError("a: !!binary aGVsbG8=\n").message(), HasSubstr("tags"));
  EXPECT_THAT(ParseError("? [a, b]\n: c\n").message(), HasSubstr("plain scalars"));
  EXPECT_THAT(ParseError(std::string("a: b\0c\n", 7)).message(), HasSubstr("NUL"));
  EXPECT_THAT(ParseError("a: 1\n---\nb: 2\n").message(), HasSubstr("more than one document"));
}

TEST(ParseYamlDocumentTest, RejectsDeepNestingAndTooManyNodes) {
  std::string deep;
  for (int i = 0; i < 100; ++i) deep += "[";
  for (int i = 0; i < 100; ++i) deep += "]";
  EXPECT_THAT(ParseError(deep).message(), HasSubstr("nesting too deep"));
  std::string wide = "[";
  for (int i = 0; i < 200; ++i) absl::StrAppend(&wide, i, ",");
  wide += "0]";
  EXPECT_THAT(ParseError(wide, YamlLimits{.max_nodes = 100}).message(),
              HasSubstr("too many nodes"));
}

TEST(ParseYamlDocumentTest, RejectsLargeDocumentsBeforeParsing) {
  std::string big(11 << 20, 'a');
  absl::Time start = absl::Now();
  EXPECT_THAT(ParseError(big).message(), HasSubstr("larger than"));
  EXPECT_LT(absl::Now() - start, absl::Milliseconds(100));
}

TEST(ParseYamlDocumentTest, ReportsSyntaxErrorsWithTheDocumentName) {
  absl::Status status = ParseError("a: [1, 2\n");
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("invalid test document"));
}

struct Sample {
  std::string name = "default";
  int64_t count = 3;
  int small = 1;
  bool flag = false;
  absl::Duration wait = absl::Seconds(1);
  std::vector<std::string> items;
};

absl::StatusOr<Sample> ReadSample(const std::string& text) {
  absl::StatusOr<YAML::Node> node = ParseYamlDocument(text, "sample");
  if (!node.ok()) return node.status();
  Sample sample;
  YamlMapReader reader(*node, "");
  reader.String("name", &sample.name);
  reader.Int("count", &sample.count, 0, 10);
  reader.Bool("flag", &sample.flag);
  reader.Duration("wait", &sample.wait);
  reader.StringList("items", &sample.items);
  YamlMapReader nested(reader.Map("nested"), reader.Child("nested"));
  nested.Int("small", &sample.small, 0, 5);
  absl::Status status = nested.Finish();
  if (!status.ok()) return status;
  status = reader.Finish();
  if (!status.ok()) return status;
  return sample;
}

TEST(YamlMapReaderTest, ReadsTypedValuesAndKeepsDefaults) {
  absl::StatusOr<Sample> sample =
      ReadSample("name: x\nflag: true\nwait: 250ms\nitems: [a, b]\nnested: {small: 4}\n");
  ASSERT_TRUE(sample.ok()) << sample.status();
  EXPECT_EQ(sample->name, "x");
  EXPECT_EQ(sample->count, 3);
  EXPECT_TRUE(sample->flag);
  EXPECT_EQ(sample->wait, absl::Milliseconds(250));
  EXPECT_THAT(sample->items, ::testing::ElementsAre("a", "b"));
  EXPECT_EQ(sample->small, 4);
}

TEST(YamlMapReaderTest, ErrorsNameThePathOfTheValue) {
  EXPECT_EQ(ReadSample("count: 11\n").status().message(), "count: must be between 0 and 10");
  EXPECT_EQ(ReadSample("count: abc\n").status().message(), "count: expected an integer");
  EXPECT_EQ(ReadSample("flag: yes\n").status().message(), "flag: expected true or false");
  EXPECT_EQ(ReadSample("name: [1]\n").status().message(), "name: expected a string");
  EXPECT_EQ(ReadSample("nested: {small: 9}\n").status().message(),
            "nested.small: must be between 0 and 5");
  EXPECT_EQ(ReadSample("nested: {other: 1}\n").status().message(), "nested.other: unknown key");
  EXPECT_EQ(ReadSample("typo: 1\n").status().message(), "typo: unknown key");
  EXPECT_EQ(ReadSample("wait: soon\n").status().message(),
            "wait: expected a duration such as \"10s\" or \"250ms\"");
  EXPECT_EQ(ReadSample("- a\n").status().message(), "document: expected a mapping");
}

}  // namespace
}  // namespace l4d2
