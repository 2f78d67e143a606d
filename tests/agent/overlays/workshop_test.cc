#include "agent/overlays/workshop.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace l4d2::agent {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// Shape of the real GetPublishedFileDetails reply (fields trimmed).
constexpr char kDetails[] = R"({"response":{"result":1,"resultcount":2,"publishedfiledetails":[
 {"publishedfileid":"123456789","result":1,"creator":"76561198000000000","creator_app_id":550,
  "consumer_app_id":550,"filename":"","file_size":"52428800",
  "file_url":"https://steamusercontent-a.akamaihd.net/ugc/1/ABC/","title":"Custom Campaign",
  "time_created":1600000000,"time_updated":1700000000,"visibility":0,"banned":0},
 {"publishedfileid":"987654321","result":1,"file_size":1024,"file_url":"https://x/y",
  "title":"Skins","time_updated":1700000500}]}})";

TEST(WorkshopTest, BuildsTheFormsOfTheWebApi) {
  EXPECT_EQ(PublishedFileDetailsForm({12, 34}),
            "itemcount=2&publishedfileids%5B0%5D=12&publishedfileids%5B1%5D=34");
  EXPECT_EQ(CollectionDetailsForm({5}), "collectioncount=1&publishedfileids%5B0%5D=5");
}

TEST(WorkshopTest, ParsesItemDetails) {
  absl::StatusOr<std::vector<WorkshopItem>> items = ParsePublishedFileDetails(kDetails);
  ASSERT_TRUE(items.ok()) << items.status();
  ASSERT_EQ(items->size(), 2u);
  EXPECT_EQ((*items)[0].id, 123456789u);
  EXPECT_EQ((*items)[0].title, "Custom Campaign");
  EXPECT_EQ((*items)[0].time_updated, 1700000000);
  EXPECT_EQ((*items)[0].file_size, 52428800u);
  EXPECT_EQ((*items)[1].file_size, 1024u);
}

TEST(WorkshopTest, UnavailableItemsAndGarbageAreErrors) {
  absl::StatusOr<std::vector<WorkshopItem>> removed = ParsePublishedFileDetails(
      R"({"response":{"result":1,"publishedfiledetails":[{"publishedfileid":"5","result":9}]}})");
  EXPECT_EQ(removed.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(removed.status().message(), HasSubstr("workshop item 5"));
  EXPECT_EQ(ParsePublishedFileDetails("<html>").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParsePublishedFileDetails(R"({"nope":1})").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(WorkshopTest, ExpandsCollections) {
  absl::StatusOr<std::vector<uint64_t>> children = ParseCollectionDetails(
      R"({"response":{"result":1,"collectiondetails":[{"publishedfileid":"1","result":1,
         "children":[{"publishedfileid":"11","sortorder":1,"filetype":0},
                     {"publishedfileid":"12","sortorder":2,"filetype":0}]}]}})");
  ASSERT_TRUE(children.ok()) << children.status();
  EXPECT_THAT(*children, ElementsAre(11u, 12u));
}

}  // namespace
}  // namespace l4d2::agent
