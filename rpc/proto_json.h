#pragma once

// Protobuf messages to and from their JSON mapping, as stored in the controller's tables
// (job parameters and results, overlay definitions, blueprint settings, server status) and as
// the HTTP API speaks them.

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/message.h"
#include "google/protobuf/util/json_util.h"

namespace l4d2 {

// The message's JSON (proto field names in lowerCamelCase, defaults omitted).
inline std::string ToJson(const google::protobuf::Message& message) {
  std::string json;
  (void)google::protobuf::util::MessageToJsonString(message, &json);
  return json;
}

// INVALID_ARGUMENT naming `what` when `json` is not the JSON of a `Message`; unknown fields
// are errors too.
template <typename Message>
absl::StatusOr<Message> FromJson(const std::string& json, const char* what = "JSON") {
  Message message;
  google::protobuf::util::Status parsed =
      google::protobuf::util::JsonStringToMessage(json, &message);
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": not valid JSON of ",
                                                   Message::descriptor()->full_name(), ": ",
                                                   parsed.message().as_string()));
  }
  return message;
}

// The same, for what a peer of a newer version may send (l4d2ctl reading the controller's
// answers): fields this build does not know are skipped, not errors.
template <typename Message>
absl::StatusOr<Message> FromJsonIgnoringUnknown(const std::string& json,
                                                const char* what = "JSON") {
  Message message;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  google::protobuf::util::Status parsed =
      google::protobuf::util::JsonStringToMessage(json, &message, options);
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": not valid JSON of ",
                                                   Message::descriptor()->full_name(), ": ",
                                                   parsed.message().as_string()));
  }
  return message;
}

}  // namespace l4d2
