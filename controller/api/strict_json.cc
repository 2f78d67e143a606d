#include "controller/api/strict_json.h"

#include <string>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/utf8.h"

namespace l4d2::controller {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;

constexpr int kMaxDepth = 64;

// What a value is expected to be.
enum class Expect {
  kAny,      // google.protobuf.Value, Struct fields, ListValue elements: any JSON
  kMessage,  // an object of `message`'s fields
  kMap,      // an object whose values are `field`'s map values
  kList,     // a list of `field`'s elements (no list inside)
  kScalar,   // a string, number, boolean or null (well-known string forms included)
};

class Checker {
 public:
  explicit Checker(absl::string_view json) : json_(json) {}

  absl::Status Document(const Descriptor* descriptor) {
    Value(Expect::kMessage, descriptor, nullptr, "", 0);
    Space();
    if (error_.empty() && at_ != json_.size()) Fail("", "text after the JSON value");
    if (error_.empty()) return absl::OkStatus();
    return absl::InvalidArgumentError(absl::StrCat("body: ", error_));
  }

 private:
  void Fail(const std::string& path, absl::string_view what) {
    if (!error_.empty()) return;
    error_ = path.empty() ? std::string(what) : absl::StrCat(Utf8Excerpt(path, 120), ": ", what);
  }
  bool Failed() const { return !error_.empty(); }
  void Space() {
    while (at_ < json_.size() &&
           (json_[at_] == ' ' || json_[at_] == '\t' || json_[at_] == '\n' || json_[at_] == '\r')) {
      ++at_;
    }
  }
  char Peek() {
    Space();
    return at_ < json_.size() ? json_[at_] : '\0';
  }

  // What one field's value must be.
  static Expect ExpectFor(const FieldDescriptor* field, bool element) {
    if (field->is_map() && !element) return Expect::kMap;
    if (field->is_repeated() && !element) return Expect::kList;
    if (field->type() != FieldDescriptor::TYPE_MESSAGE) return Expect::kScalar;
    const std::string& name = field->message_type()->full_name();
    if (name == "google.protobuf.Value" || name == "google.protobuf.Struct" ||
        name == "google.protobuf.ListValue") {
      return Expect::kAny;
    }
    const bool wrapper =
        absl::StartsWith(name, "google.protobuf.") && absl::EndsWith(name, "Value");
    if (name == "google.protobuf.Timestamp" || name == "google.protobuf.Duration" ||
        name == "google.protobuf.FieldMask" || wrapper) {
      return Expect::kScalar;  // well-known types written as strings or numbers
    }
    return Expect::kMessage;
  }

  void Value(Expect expect, const Descriptor* message, const FieldDescriptor* field,
             const std::string& path, int depth) {
    if (Failed()) return;
    if (depth > kMaxDepth) return Fail(path, "nested too deep");
    const char c = Peek();
    if (c == '{') {
      if (expect == Expect::kList) return Fail(path, "expected a list, not an object");
      if (expect == Expect::kScalar) return Fail(path, "expected a value, not an object");
      return Object(expect, message, field, path, depth);
    }
    if (c == '[') {
      if (expect == Expect::kMessage || expect == Expect::kMap) {
        return Fail(path, "expected an object, not a list");
      }
      if (expect == Expect::kScalar) return Fail(path, "expected a value, not a list");
      return List(expect, field, path, depth);
    }
    if (c == '"') return String(path, nullptr);
    return Literal(path);
  }

  void Object(Expect expect, const Descriptor* message, const FieldDescriptor* field,
              const std::string& path, int depth) {
    ++at_;  // '{'
    absl::flat_hash_set<std::string> keys;
    if (Peek() == '}') {
      ++at_;
      return;
    }
    for (;;) {
      if (Peek() != '"') return Fail(path, "expected a quoted key");
      std::string key;
      String(path, &key);
      if (Failed()) return;
      const std::string child = path.empty() ? key : absl::StrCat(path, ".", key);
      if (!keys.insert(key).second) return Fail(child, "given twice");
      if (Peek() != ':') return Fail(child, "expected ':'");
      ++at_;
      if (expect == Expect::kMessage && message != nullptr) {
        const FieldDescriptor* member = message->FindFieldByName(key);
        if (member == nullptr) member = FindByJsonName(message, key);
        if (member == nullptr) {
          // Unknown: protobuf's parser refuses it with its name; skip over it here.
          Value(Expect::kAny, nullptr, nullptr, child, depth + 1);
        } else {
          const Expect inner = ExpectFor(member, false);
          Value(inner, inner == Expect::kMessage ? member->message_type() : nullptr, member, child,
                depth + 1);
        }
      } else if (expect == Expect::kMap && field != nullptr) {
        const FieldDescriptor* value_field = field->message_type()->FindFieldByName("value");
        const Expect inner = ExpectFor(value_field, true);
        Value(inner, inner == Expect::kMessage ? value_field->message_type() : nullptr, value_field,
              child, depth + 1);
      } else {
        Value(Expect::kAny, nullptr, nullptr, child, depth + 1);
      }
      if (Failed()) return;
      const char next = Peek();
      ++at_;
      if (next == '}') return;
      if (next != ',') return Fail(path, "expected ',' or '}'");
    }
  }

  static const FieldDescriptor* FindByJsonName(const Descriptor* message, const std::string& key) {
    for (int i = 0; i < message->field_count(); ++i) {
      if (message->field(i)->json_name() == key) return message->field(i);
    }
    return nullptr;
  }

  void List(Expect expect, const FieldDescriptor* field, const std::string& path, int depth) {
    ++at_;  // '['
    if (Peek() == ']') {
      ++at_;
      return;
    }
    for (int index = 0;; ++index) {
      const std::string child = absl::StrCat(path, "[", index, "]");
      if (expect == Expect::kList && field != nullptr) {
        if (Peek() == '[') return Fail(child, "a list inside a list");
        const Expect inner = ExpectFor(field, true);
        Value(inner, inner == Expect::kMessage ? field->message_type() : nullptr, field, child,
              depth + 1);
      } else {
        Value(Expect::kAny, nullptr, nullptr, child, depth + 1);
      }
      if (Failed()) return;
      const char next = Peek();
      ++at_;
      if (next == ']') return;
      if (next != ',') return Fail(path, "expected ',' or ']'");
    }
  }

  // A string; its raw text (escapes kept as written) into `out` when given.
  void String(const std::string& path, std::string* out) {
    ++at_;  // '"'
    const size_t start = at_;
    while (at_ < json_.size() && json_[at_] != '"') {
      if (static_cast<unsigned char>(json_[at_]) < 0x20)
        return Fail(path, "a control character in a string");
      at_ += json_[at_] == '\\' ? 2 : 1;
    }
    if (at_ >= json_.size()) return Fail(path, "an unterminated string");
    if (out != nullptr) *out = std::string(json_.substr(start, at_ - start));
    ++at_;  // '"'
  }

  // A number, true, false or null (protobuf checks the number's form and range).
  void Literal(const std::string& path) {
    const size_t start = at_;
    while (at_ < json_.size() && (absl::ascii_isalnum(json_[at_]) || json_[at_] == '-' ||
                                  json_[at_] == '+' || json_[at_] == '.')) {
      ++at_;
    }
    if (at_ == start) Fail(path, "expected a JSON value");
  }

  absl::string_view json_;
  size_t at_ = 0;
  std::string error_;
};

}  // namespace

absl::Status CheckStrictJson(absl::string_view json, const Descriptor* descriptor) {
  return Checker(json).Document(descriptor);
}

}  // namespace l4d2::controller
