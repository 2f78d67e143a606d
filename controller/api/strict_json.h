#pragma once

// What protobuf's JSON parser lets through and the API's schema does not: a duplicate key in
// an object (protobuf keeps the last), a list inside a list where a repeated field's elements
// are expected (protobuf flattens or drops them, to any depth), an object or a list where a
// scalar field is expected. Request bodies are checked here first, then parsed by protobuf,
// which checks the rest (unknown fields, value ranges, enum names); each error names the field
// by its path ("settings.cvars[0]").

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/descriptor.h"

namespace l4d2::controller {

// INVALID_ARGUMENT naming the field ("body: settings.cvars[0]: a list inside a list") when
// `json` breaks the rules above for messages of `descriptor`, or is not well-formed JSON; OK
// otherwise (protobuf's parser still has to accept it). Nesting deeper than 64 is refused.
absl::Status CheckStrictJson(absl::string_view json,
                             const google::protobuf::Descriptor* descriptor);

}  // namespace l4d2::controller
