#include "controller/api/openapi.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "controller/api/authenticator.h"
#include "google/protobuf/struct.pb.h"
#include "l4d2/controller/v1/api.pb.h"
#include "rpc/proto_json.h"

namespace l4d2::controller {
namespace {

namespace pb = google::protobuf;

pb::Value Str(const std::string& text) {
  pb::Value value;
  value.set_string_value(text);
  return value;
}

pb::Value Bool(bool flag) {
  pb::Value value;
  value.set_bool_value(flag);
  return value;
}

pb::Value Object() {
  pb::Value value;
  value.mutable_struct_value();
  return value;
}

pb::Value& Field(pb::Value& object, const std::string& name) {
  return (*object.mutable_struct_value()->mutable_fields())[name];
}

pb::Value List() {
  pb::Value value;
  value.mutable_list_value();
  return value;
}

pb::Value Ref(const pb::Descriptor* message) {
  pb::Value ref = Object();
  Field(ref, "$ref") = Str("#/components/schemas/" + message->full_name());
  return ref;
}

// Schemas of `message` and every message it uses, into `schemas`.
void AddSchema(const pb::Descriptor* message, pb::Value& schemas);

pb::Value FieldSchema(const pb::FieldDescriptor* field, pb::Value& schemas, bool element) {
  if (field->is_map() && !element) {
    pb::Value map = Object();
    Field(map, "type") = Str("object");
    Field(map, "additionalProperties") =
        FieldSchema(field->message_type()->map_value(), schemas, false);
    return map;
  }
  if (field->is_repeated() && !element) {
    pb::Value array = Object();
    Field(array, "type") = Str("array");
    Field(array, "items") = FieldSchema(field, schemas, true);
    return array;
  }
  pb::Value schema = Object();
  switch (field->cpp_type()) {
    case pb::FieldDescriptor::CPPTYPE_INT32:
    case pb::FieldDescriptor::CPPTYPE_UINT32:
      Field(schema, "type") = Str("integer");
      Field(schema, "format") = Str("int32");
      break;
    case pb::FieldDescriptor::CPPTYPE_INT64:
    case pb::FieldDescriptor::CPPTYPE_UINT64:
      // Protobuf's JSON mapping writes 64-bit integers as strings.
      Field(schema, "type") = Str("string");
      Field(schema, "format") = Str("int64");
      break;
    case pb::FieldDescriptor::CPPTYPE_DOUBLE:
    case pb::FieldDescriptor::CPPTYPE_FLOAT:
      Field(schema, "type") = Str("number");
      break;
    case pb::FieldDescriptor::CPPTYPE_BOOL:
      Field(schema, "type") = Str("boolean");
      break;
    case pb::FieldDescriptor::CPPTYPE_STRING:
      Field(schema, "type") = Str("string");
      if (field->type() == pb::FieldDescriptor::TYPE_BYTES) Field(schema, "format") = Str("byte");
      break;
    case pb::FieldDescriptor::CPPTYPE_ENUM: {
      Field(schema, "type") = Str("string");
      pb::Value values = List();
      for (int i = 0; i < field->enum_type()->value_count(); ++i) {
        *values.mutable_list_value()->add_values() = Str(field->enum_type()->value(i)->name());
      }
      Field(schema, "enum") = values;
      break;
    }
    case pb::FieldDescriptor::CPPTYPE_MESSAGE: {
      const std::string& name = field->message_type()->full_name();
      if (name == "google.protobuf.Timestamp") {
        Field(schema, "type") = Str("string");
        Field(schema, "format") = Str("date-time");
      } else if (name == "google.protobuf.Duration") {
        Field(schema, "type") = Str("string");
        Field(schema, "example") = Str("1.5s");
      } else if (name == "google.protobuf.Struct") {
        Field(schema, "type") = Str("object");
      } else if (name == "google.protobuf.Value") {
        Field(schema, "description") = Str("any JSON value");
      } else {
        AddSchema(field->message_type(), schemas);
        return Ref(field->message_type());
      }
      break;
    }
  }
  return schema;
}

void AddSchema(const pb::Descriptor* message, pb::Value& schemas) {
  auto& fields = *schemas.mutable_struct_value()->mutable_fields();
  if (fields.count(message->full_name())) return;
  // Entered before its fields are walked, so a message that contains itself ends the walk.
  fields[message->full_name()] = Object();
  pb::Value schema = Object();
  Field(schema, "type") = Str("object");
  Field(schema, "additionalProperties") = Bool(false);
  pb::Value properties = Object();
  for (int i = 0; i < message->field_count(); ++i) {
    const pb::FieldDescriptor* field = message->field(i);
    Field(properties, field->json_name()) = FieldSchema(field, schemas, false);
  }
  Field(schema, "properties") = properties;
  (*schemas.mutable_struct_value()->mutable_fields())[message->full_name()] = schema;
}

pb::Value JsonContent(const pb::Descriptor* message) {
  pb::Value content = Object();
  pb::Value media = Object();
  Field(media, "schema") = Ref(message);
  Field(content, "application/json") = media;
  return content;
}

// One parameter of an operation, its value a string unless `type` says otherwise.
pb::Value Parameter(const std::string& name, const std::string& in, const std::string& type,
                    const std::string& description = "", bool required = false) {
  pb::Value parameter = Object();
  Field(parameter, "name") = Str(name);
  Field(parameter, "in") = Str(in);
  if (required) Field(parameter, "required") = Bool(true);
  if (!description.empty()) Field(parameter, "description") = Str(description);
  pb::Value schema = Object();
  Field(schema, "type") = Str(type);
  Field(parameter, "schema") = schema;
  return parameter;
}

// The route's path, query and header parameters.
pb::Value Parameters(const Route& route) {
  pb::Value parameters = List();
  auto add = [&](pb::Value parameter) {
    *parameters.mutable_list_value()->add_values() = std::move(parameter);
  };
  for (absl::string_view segment : absl::StrSplit(route.path, '/')) {
    if (segment.size() < 3 || segment.front() != '{' || segment.back() != '}') continue;
    add(Parameter(std::string(segment.substr(1, segment.size() - 2)), "path", "string", "",
                  /*required=*/true));
  }
  for (const std::string& name : route.query) {
    add(Parameter(name, "query", name == "limit" ? "integer" : "string"));
  }
  if (route.access != Access::kPublic && route.ChangesState()) {
    add(Parameter(kCsrfHeader, "header", "string",
                  "The session's CSRF token (with a session cookie; not with an API token)"));
  }
  if (route.stream) {
    add(Parameter("Last-Event-ID", "header", "string", "Resume after this event"));
    add(Parameter("last_event_id", "query", "string",
                  "Resume after this event, for a client that cannot send the header (a new "
                  "EventSource); the header wins"));
  }
  return parameters;
}

// The route's success answer and the error answer every route may give.
pb::Value Responses(const Route& route, pb::Value& schemas) {
  pb::Value responses = Object();
  pb::Value success = Object();
  if (route.stream) {
    Field(success, "description") = Str("text/event-stream");
    pb::Value content = Object();
    pb::Value media = Object();
    pb::Value schema = Object();
    Field(schema, "type") = Str("string");
    Field(media, "schema") = schema;
    Field(content, "text/event-stream") = media;
    Field(success, "content") = content;
  } else if (route.response != nullptr) {
    AddSchema(route.response, schemas);
    Field(success, "description") = Str(route.response->name());
    Field(success, "content") = JsonContent(route.response);
  } else {
    Field(success, "description") = Str("done");
  }
  Field(responses, absl::StrCat(route.stream ? 200 : route.success_status)) = success;
  pb::Value error = Object();
  Field(error, "description") = Str("an error: {code, message, details}");
  Field(error, "content") = JsonContent(v1::Error::descriptor());
  Field(responses, "default") = error;
  return responses;
}

// One route as an OpenAPI operation; the messages it names are added to `schemas`.
pb::Value Operation(const Route& route, pb::Value& schemas) {
  pb::Value operation = Object();
  Field(operation, "summary") = Str(route.summary);
  Field(operation, "operationId") =
      Str(absl::StrCat(absl::AsciiStrToLower(route.method), " ", route.path));
  pb::Value parameters = Parameters(route);
  if (!parameters.list_value().values().empty()) Field(operation, "parameters") = parameters;
  if (route.request != nullptr) {
    AddSchema(route.request, schemas);
    pb::Value body = Object();
    Field(body, "required") = Bool(true);
    Field(body, "content") = JsonContent(route.request);
    Field(operation, "requestBody") = body;
  }
  Field(operation, "responses") = Responses(route, schemas);
  if (route.access == Access::kPublic) Field(operation, "security") = List();
  return operation;
}

// The session cookie and the bearer token.
pb::Value SecuritySchemes() {
  pb::Value schemes = Object();
  pb::Value cookie = Object();
  Field(cookie, "type") = Str("apiKey");
  Field(cookie, "in") = Str("cookie");
  Field(cookie, "name") = Str(kSessionCookie);
  Field(schemes, "session") = cookie;
  pb::Value bearer = Object();
  Field(bearer, "type") = Str("http");
  Field(bearer, "scheme") = Str("bearer");
  Field(schemes, "apiToken") = bearer;
  return schemes;
}

}  // namespace

std::string OpenApiDocument(const std::vector<Route>& routes, const std::string& version) {
  pb::Value doc = Object();
  Field(doc, "openapi") = Str("3.0.3");
  pb::Value info = Object();
  Field(info, "title") = Str("left4me controller API");
  Field(info, "version") = Str(version);
  Field(info, "description") =
      Str("JSON bodies are protobuf messages (l4d2/controller/v1/api.proto) in protobuf's JSON "
          "mapping. Sign in with POST /api/v1/session (cookie + CSRF token) or send an API "
          "token as a bearer token. Errors are {code, message, details}.");
  Field(doc, "info") = info;
  pb::Value schemas = Object();
  AddSchema(v1::Error::descriptor(), schemas);
  pb::Value paths = Object();
  for (const Route& route : routes) {
    pb::Value& path = Field(paths, route.path);
    if (!path.has_struct_value()) path = Object();
    Field(path, absl::AsciiStrToLower(route.method)) = Operation(route, schemas);
  }
  Field(doc, "paths") = paths;
  pb::Value components = Object();
  Field(components, "schemas") = schemas;
  Field(components, "securitySchemes") = SecuritySchemes();
  Field(doc, "components") = components;
  pb::Value security = List();
  for (const char* scheme : {"session", "apiToken"}) {
    pb::Value requirement = Object();
    Field(requirement, scheme) = List();
    *security.mutable_list_value()->add_values() = requirement;
  }
  Field(doc, "security") = security;
  return ToJson(doc);
}

}  // namespace l4d2::controller
