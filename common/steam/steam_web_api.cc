#include "common/steam/steam_web_api.h"

#include "absl/algorithm/container.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "google/protobuf/util/json_util.h"

namespace l4d2 {

using google::protobuf::Struct;
using google::protobuf::Value;

absl::StatusOr<Struct> ParseSteamWebApiResponse(absl::string_view json) {
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

const Value* SteamField(const Struct& object, const char* name) {
  auto it = object.fields().find(name);
  return it == object.fields().end() ? nullptr : &it->second;
}

uint64_t SteamNumber(const Value* value) {
  if (value == nullptr) return 0;
  if (value->has_number_value()) {
    const double number = value->number_value();
    return number >= 0 && number < 1.8e19 ? static_cast<uint64_t>(number) : 0;
  }
  uint64_t number = 0;
  return absl::SimpleAtoi(value->string_value(), &number) ? number : 0;
}

std::string SteamText(const Value* value) {
  return value != nullptr && value->has_string_value() ? value->string_value() : "";
}

bool IsSteamWebApiKey(absl::string_view key) {
  return key.size() == 32 && absl::c_all_of(key, absl::ascii_isxdigit);
}

}  // namespace l4d2
