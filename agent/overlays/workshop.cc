#include "agent/overlays/workshop.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"

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

absl::StatusOr<Struct> ParseResponse(absl::string_view json) {
  Struct reply;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  if (!google::protobuf::util::JsonStringToMessage(std::string(json), &reply, options).ok()) {
    return absl::InvalidArgumentError("steam web api: reply is not JSON");
  }
  auto response = reply.fields().find("response");
  if (response == reply.fields().end() || !response->second.has_struct_value()) {
    return absl::InvalidArgumentError("steam web api: reply without \"response\"");
  }
  return response->second.struct_value();
}

const Value* Field(const Struct& object, const char* name) {
  auto it = object.fields().find(name);
  return it == object.fields().end() ? nullptr : &it->second;
}

// Numbers come as JSON numbers or strings (64-bit ids are strings).
uint64_t Number(const Value* value) {
  if (value == nullptr) return 0;
  if (value->has_number_value()) return static_cast<uint64_t>(value->number_value());
  uint64_t number = 0;
  return absl::SimpleAtoi(value->string_value(), &number) ? number : 0;
}

std::string Text(const Value* value) { return value != nullptr ? value->string_value() : ""; }

}  // namespace

std::string PublishedFileDetailsForm(const std::vector<uint64_t>& ids) {
  return Form("itemcount", ids);
}

std::string CollectionDetailsForm(const std::vector<uint64_t>& ids) {
  return Form("collectioncount", ids);
}

absl::StatusOr<std::vector<WorkshopItem>> ParsePublishedFileDetails(absl::string_view json) {
  absl::StatusOr<Struct> response = ParseResponse(json);
  if (!response.ok()) return response.status();
  const Value* details = Field(*response, "publishedfiledetails");
  if (details == nullptr || !details->has_list_value()) {
    return absl::InvalidArgumentError("steam web api: no publishedfiledetails");
  }
  std::vector<WorkshopItem> items;
  for (const Value& entry : details->list_value().values()) {
    if (!entry.has_struct_value()) continue;
    const Struct& item = entry.struct_value();
    WorkshopItem parsed;
    parsed.id = Number(Field(item, "publishedfileid"));
    if (Number(Field(item, "result")) != 1) {
      return absl::FailedPreconditionError(
          absl::StrCat("workshop item ", parsed.id, " is not available (removed or private)"));
    }
    parsed.title = Text(Field(item, "title"));
    parsed.time_updated = static_cast<int64_t>(Number(Field(item, "time_updated")));
    parsed.file_url = Text(Field(item, "file_url"));
    parsed.file_size = Number(Field(item, "file_size"));
    if (parsed.file_url.empty()) {
      return absl::FailedPreconditionError(
          absl::StrCat("workshop item ", parsed.id, " has no file to download"));
    }
    items.push_back(std::move(parsed));
  }
  return items;
}

absl::StatusOr<std::vector<uint64_t>> ParseCollectionDetails(absl::string_view json) {
  absl::StatusOr<Struct> response = ParseResponse(json);
  if (!response.ok()) return response.status();
  const Value* collections = Field(*response, "collectiondetails");
  if (collections == nullptr || !collections->has_list_value()) {
    return absl::InvalidArgumentError("steam web api: no collectiondetails");
  }
  std::vector<uint64_t> children;
  for (const Value& entry : collections->list_value().values()) {
    if (!entry.has_struct_value()) continue;
    const Struct& collection = entry.struct_value();
    if (Number(Field(collection, "result")) != 1) {
      return absl::FailedPreconditionError(
          absl::StrCat("workshop collection ", Number(Field(collection, "publishedfileid")),
                       " is not available"));
    }
    const Value* list = Field(collection, "children");
    if (list == nullptr || !list->has_list_value()) continue;
    for (const Value& child : list->list_value().values()) {
      if (child.has_struct_value())
        children.push_back(Number(Field(child.struct_value(), "publishedfileid")));
    }
  }
  return children;
}

}  // namespace l4d2::agent
