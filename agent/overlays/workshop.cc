#include "agent/overlays/workshop.h"

#include "absl/strings/str_cat.h"
#include "common/steam/steam_web_api.h"

namespace l4d2::agent {
namespace {

using google::protobuf::Struct;
using google::protobuf::Value;

std::string Form(absl::string_view count_name, const std::vector<uint64_t>& ids) {
  std::string form = absl::StrCat(count_name, "=", ids.size());
  for (size_t i = 0; i < ids.size(); ++i) {
    absl::StrAppend(&form, "&publishedfileids%5B", i, "%5D=", ids[i]);
  }
  return form;
}

}  // namespace

std::string PublishedFileDetailsForm(const std::vector<uint64_t>& ids) {
  return Form("itemcount", ids);
}

std::string CollectionDetailsForm(const std::vector<uint64_t>& ids) {
  return Form("collectioncount", ids);
}

absl::StatusOr<std::vector<WorkshopItem>> ParsePublishedFileDetails(absl::string_view json) {
  absl::StatusOr<Struct> response = ParseSteamWebApiResponse(json);
  if (!response.ok()) return response.status();
  const Value* details = SteamField(*response, "publishedfiledetails");
  if (details == nullptr || !details->has_list_value()) {
    return absl::InvalidArgumentError("steam web api: no publishedfiledetails");
  }
  std::vector<WorkshopItem> items;
  for (const Value& entry : details->list_value().values()) {
    if (!entry.has_struct_value()) continue;
    const Struct& item = entry.struct_value();
    WorkshopItem parsed;
    parsed.id = SteamNumber(SteamField(item, "publishedfileid"));
    if (SteamNumber(SteamField(item, "result")) != 1) {
      return absl::FailedPreconditionError(
          absl::StrCat("workshop item ", parsed.id, " is not available (removed or private)"));
    }
    parsed.title = SteamText(SteamField(item, "title"));
    parsed.time_updated = static_cast<int64_t>(SteamNumber(SteamField(item, "time_updated")));
    parsed.file_url = SteamText(SteamField(item, "file_url"));
    parsed.file_size = SteamNumber(SteamField(item, "file_size"));
    if (parsed.file_url.empty()) {
      return absl::FailedPreconditionError(
          absl::StrCat("workshop item ", parsed.id, " has no file to download"));
    }
    items.push_back(std::move(parsed));
  }
  return items;
}

absl::StatusOr<std::vector<uint64_t>> ParseCollectionDetails(absl::string_view json) {
  absl::StatusOr<Struct> response = ParseSteamWebApiResponse(json);
  if (!response.ok()) return response.status();
  const Value* collections = SteamField(*response, "collectiondetails");
  if (collections == nullptr || !collections->has_list_value()) {
    return absl::InvalidArgumentError("steam web api: no collectiondetails");
  }
  std::vector<uint64_t> children;
  for (const Value& entry : collections->list_value().values()) {
    if (!entry.has_struct_value()) continue;
    const Struct& collection = entry.struct_value();
    if (SteamNumber(SteamField(collection, "result")) != 1) {
      return absl::FailedPreconditionError(absl::StrCat(
          "workshop collection ", SteamNumber(SteamField(collection, "publishedfileid")),
          " is not available"));
    }
    const Value* list = SteamField(collection, "children");
    if (list == nullptr || !list->has_list_value()) continue;
    for (const Value& child : list->list_value().values()) {
      if (child.has_struct_value())
        children.push_back(SteamNumber(SteamField(child.struct_value(), "publishedfileid")));
    }
  }
  return children;
}

}  // namespace l4d2::agent
