#pragma once

// The Steam Web API calls overlay sync makes for Workshop items (ISteamRemoteStorage,
// form-encoded POSTs): the request bodies and the parse of the JSON replies. Pure functions.
//
//   POST <base>/ISteamRemoteStorage/GetPublishedFileDetails/v1/
//        itemcount=N&publishedfileids[0]=...
//   POST <base>/ISteamRemoteStorage/GetCollectionDetails/v1/
//        collectioncount=N&publishedfileids[0]=...

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace l4d2::agent {

struct WorkshopItem {
  uint64_t id = 0;
  std::string title;
  int64_t time_updated = 0;
  std::string file_url;
  uint64_t file_size = 0;
};

inline constexpr char kPublishedFileDetailsPath[] =
    "/ISteamRemoteStorage/GetPublishedFileDetails/v1/";
inline constexpr char kCollectionDetailsPath[] = "/ISteamRemoteStorage/GetCollectionDetails/v1/";

std::string PublishedFileDetailsForm(const std::vector<uint64_t>& ids);
std::string CollectionDetailsForm(const std::vector<uint64_t>& ids);

// Every requested item must be present with result 1 and a file_url; otherwise
// FAILED_PRECONDITION naming the item (removed, private, or not a file). INVALID_ARGUMENT for a
// reply that is not the API's JSON.
absl::StatusOr<std::vector<WorkshopItem>> ParsePublishedFileDetails(absl::string_view json);

// The children of every collection, in order.
absl::StatusOr<std::vector<uint64_t>> ParseCollectionDetails(absl::string_view json);

}  // namespace l4d2::agent
