#include "common/yaml_document.h"

#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/file_util.h"
#include "common/status_macros.h"
#include "yaml-cpp/eventhandler.h"

namespace l4d2 {
namespace {

// Walks the parser's events and remembers the first reason to reject the document.
class Validator final : public YAML::EventHandler {
 public:
  explicit Validator(const YamlLimits& limits) : limits_(limits) {}

  const std::string& error() const { return error_; }

  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    Value(mark, anchor, "", nullptr);
  }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t) override {
    Reject(mark, "aliases are not allowed");
  }
  void OnScalar(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                const std::string& value) override {
    Value(mark, anchor, tag, &value);
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value) override {
    Value(mark, anchor, tag, nullptr);
    Push(mark, /*is_map=*/false);
  }
  void OnSequenceEnd() override { Pop(); }
  void OnMapStart(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value) override {
    Value(mark, anchor, tag, nullptr);
    Push(mark, /*is_map=*/true);
  }
  void OnMapEnd() override { Pop(); }
  void OnAnchor(const YAML::Mark& mark, const std::string&) override {
    Reject(mark, "anchors are not allowed");
  }

 private:
  struct Frame {
    bool is_map = false;
    bool expect_key = true;
    absl::flat_hash_set<std::string> keys;
  };

  void Reject(const YAML::Mark& mark, absl::string_view why) {
    if (error_.empty()) {
      error_ = absl::StrCat(why, " (line ", mark.line + 1, ", column ", mark.column + 1, ")");
    }
  }

  // Called for every node. `scalar` is set for scalars, so that keys can be checked.
  void Value(const YAML::Mark& mark, YAML::anchor_t anchor, const std::string& tag,
             const std::string* scalar) {
    if (anchor != YAML::NullAnchor) Reject(mark, "anchors are not allowed");
    // "?" and "!" are the implicit tags of plain and quoted scalars; anything else is explicit.
    if (!tag.empty() && tag != "?" && tag != "!") Reject(mark, "tags are not allowed");
    if (++nodes_ > limits_.max_nodes) Reject(mark, "too many nodes");
    if (stack_.empty() || !stack_.back().is_map) return;
    Frame& map = stack_.back();
    if (map.expect_key) {
      if (scalar == nullptr) {
        Reject(mark, "mapping keys must be plain scalars");
      } else if (!map.keys.insert(*scalar).second) {
        Reject(mark, absl::StrCat("duplicate key '", *scalar, "'"));
      }
    }
    map.expect_key = !map.expect_key;
  }

  void Push(const YAML::Mark& mark, bool is_map) {
    Frame frame;
    frame.is_map = is_map;
    stack_.push_back(std::move(frame));
    if (static_cast<int>(stack_.size()) > limits_.max_depth) Reject(mark, "nesting too deep");
  }
  void Pop() {
    if (!stack_.empty()) stack_.pop_back();
  }

  const YamlLimits& limits_;
  std::vector<Frame> stack_;
  size_t nodes_ = 0;
  std::string error_;
};

// yaml-cpp's default-constructed Node is a defined null; both mean "not given" here.
bool Absent(const YAML::Node& node) { return !node.IsDefined() || node.IsNull(); }

absl::Status Invalid(absl::string_view what, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("invalid ", what, ": ", why));
}

}  // namespace

absl::StatusOr<YAML::Node> ParseYamlDocument(absl::string_view text, absl::string_view what,
                                             const YamlLimits& limits) {
  if (text.size() > limits.max_bytes) {
    return Invalid(what, absl::StrCat("larger than ", limits.max_bytes, " bytes"));
  }
  if (text.find('\0') != absl::string_view::npos) return Invalid(what, "contains a NUL byte");
  try {
    std::istringstream in{std::string(text)};
    YAML::Parser parser(in);
    Validator validator(limits);
    int documents = 0;
    // The validator stops recording after the first error, but the parser runs the document
    // to its end; the node limit bounds that work because aliases are never expanded here.
    while (parser.HandleNextDocument(validator)) {
      if (++documents > 1) return Invalid(what, "more than one document");
      if (!validator.error().empty()) return Invalid(what, validator.error());
    }
    if (documents == 0) return YAML::Node();
    return YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    return Invalid(what, e.what());
  }
}

absl::StatusOr<YAML::Node> LoadYamlFile(const std::string& path, const YamlLimits& limits) {
  L4D2_ASSIGN_OR_RETURN(std::string text, ReadFileToString(path, limits.max_bytes + 1));
  return ParseYamlDocument(text, absl::StrCat("'", path, "'"), limits);
}

YamlMapReader::YamlMapReader(const YAML::Node& node, std::string path)
    : node_(node), path_(std::move(path)) {
  if (!Absent(node_) && !node_.IsMap()) {
    status_ = absl::InvalidArgumentError(
        absl::StrCat(path_.empty() ? "document" : path_, ": expected a mapping"));
  }
}

std::string YamlMapReader::Child(absl::string_view key) const {
  return path_.empty() ? std::string(key) : absl::StrCat(path_, ".", key);
}

void YamlMapReader::Fail(absl::string_view key, absl::string_view message) {
  if (status_.ok()) {
    status_ = absl::InvalidArgumentError(absl::StrCat(Child(key), ": ", message));
  }
}

YAML::Node YamlMapReader::Take(absl::string_view key) {
  consumed_.insert(std::string(key));
  if (!status_.ok() || !node_.IsMap()) return YAML::Node(YAML::NodeType::Undefined);
  // Indexing a const node never inserts.
  const YAML::Node& map = node_;
  YAML::Node value = map[std::string(key)];
  return Absent(value) ? YAML::Node(YAML::NodeType::Undefined) : value;
}

void YamlMapReader::String(absl::string_view key, std::string* out, bool required) {
  YAML::Node value = Take(key);
  if (Absent(value)) {
    if (required && status_.ok()) Fail(key, "is required");
    return;
  }
  if (!value.IsScalar()) return Fail(key, "expected a string");
  *out = value.Scalar();
}

void YamlMapReader::Int(absl::string_view key, int64_t* out, int64_t min, int64_t max,
                        bool required) {
  YAML::Node value = Take(key);
  if (Absent(value)) {
    if (required && status_.ok()) Fail(key, "is required");
    return;
  }
  int64_t parsed = 0;
  if (!value.IsScalar() || !absl::SimpleAtoi(value.Scalar(), &parsed)) {
    return Fail(key, "expected an integer");
  }
  if (parsed < min || parsed > max) {
    return Fail(key, absl::StrCat("must be between ", min, " and ", max));
  }
  *out = parsed;
}

void YamlMapReader::Int(absl::string_view key, int* out, int min, int max, bool required) {
  int64_t wide = *out;
  Int(key, &wide, min, max, required);
  *out = static_cast<int>(wide);
}

void YamlMapReader::Bool(absl::string_view key, bool* out) {
  YAML::Node value = Take(key);
  if (Absent(value)) return;
  const std::string& text = value.IsScalar() ? value.Scalar() : "";
  if (text == "true") {
    *out = true;
  } else if (text == "false") {
    *out = false;
  } else {
    Fail(key, "expected true or false");
  }
}

void YamlMapReader::Duration(absl::string_view key, absl::Duration* out) {
  YAML::Node value = Take(key);
  if (Absent(value)) return;
  absl::Duration parsed;
  if (!value.IsScalar() || !absl::ParseDuration(value.Scalar(), &parsed) ||
      parsed < absl::ZeroDuration()) {
    return Fail(key, "expected a duration such as \"10s\" or \"250ms\"");
  }
  *out = parsed;
}

void YamlMapReader::StringList(absl::string_view key, std::vector<std::string>* out) {
  YAML::Node value = Take(key);
  if (Absent(value)) return;
  if (!value.IsSequence()) return Fail(key, "expected a list of strings");
  std::vector<std::string> items;
  for (const YAML::Node& item : value) {
    if (!item.IsScalar()) return Fail(key, "expected a list of strings");
    items.push_back(item.Scalar());
  }
  *out = std::move(items);
}

YAML::Node YamlMapReader::Map(absl::string_view key) {
  YAML::Node value = Take(key);
  if (!Absent(value) && !value.IsMap()) {
    Fail(key, "expected a mapping");
    return YAML::Node(YAML::NodeType::Undefined);
  }
  return value;
}

YAML::Node YamlMapReader::Sequence(absl::string_view key) {
  YAML::Node value = Take(key);
  if (!Absent(value) && !value.IsSequence()) {
    Fail(key, "expected a list");
    return YAML::Node(YAML::NodeType::Undefined);
  }
  return value;
}

absl::Status YamlMapReader::Finish() {
  if (!status_.ok() || !node_.IsMap()) return status_;
  for (const auto& entry : node_) {
    const std::string key = entry.first.Scalar();
    if (!consumed_.contains(key)) {
      return absl::InvalidArgumentError(absl::StrCat(Child(key), ": unknown key"));
    }
  }
  return absl::OkStatus();
}

}  // namespace l4d2
