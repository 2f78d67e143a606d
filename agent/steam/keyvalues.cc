#include "agent/steam/keyvalues.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace l4d2::agent {
namespace {

constexpr int kMaxDepth = 32;
constexpr size_t kMaxBytes = size_t{16} << 20;

class Parser {
 public:
  explicit Parser(absl::string_view text) : text_(text) {}

  absl::Status ParseSection(KeyValues* section, int depth) {
    if (depth > kMaxDepth) return Error("nesting too deep");
    while (true) {
      SkipSpaceAndComments();
      if (pos_ >= text_.size()) {
        if (depth == 0) return absl::OkStatus();
        return Error("unexpected end of text, '}' missing");
      }
      if (text_[pos_] == '}') {
        if (depth == 0) return Error("unexpected '}'");
        ++pos_;
        return absl::OkStatus();
      }
      KeyValues entry;
      L4D2_ASSIGN_OR_RETURN(entry.key, Token());
      SkipSpaceAndComments();
      if (pos_ >= text_.size()) return Error(absl::StrCat("no value for key '", entry.key, "'"));
      if (text_[pos_] == '{') {
        ++pos_;
        entry.is_section = true;
        L4D2_RETURN_IF_ERROR(ParseSection(&entry, depth + 1));
      } else {
        L4D2_ASSIGN_OR_RETURN(entry.value, Token());
      }
      section->children.push_back(std::move(entry));
    }
  }

 private:
  absl::Status Error(absl::string_view why) const {
    int line = 1;
    for (size_t i = 0; i < pos_ && i < text_.size(); ++i) line += text_[i] == '\n';
    return absl::InvalidArgumentError(absl::StrCat("keyvalues line ", line, ": ", why));
  }

  void SkipSpaceAndComments() {
    while (pos_ < text_.size()) {
      if (absl::ascii_isspace(static_cast<unsigned char>(text_[pos_]))) {
        ++pos_;
      } else if (text_.substr(pos_, 2) == "//") {
        size_t end = text_.find('\n', pos_);
        pos_ = end == absl::string_view::npos ? text_.size() : end + 1;
      } else {
        return;
      }
    }
  }

  absl::StatusOr<std::string> Token() {
    if (text_[pos_] == '{' || text_[pos_] == '}') return Error("expected a key or value");
    std::string out;
    if (text_[pos_] != '"') {
      while (pos_ < text_.size() && !absl::ascii_isspace(static_cast<unsigned char>(text_[pos_])) &&
             text_[pos_] != '{' && text_[pos_] != '}' && text_[pos_] != '"') {
        out.push_back(text_[pos_++]);
      }
      return out;
    }
    ++pos_;
    while (pos_ < text_.size() && text_[pos_] != '"') {
      char c = text_[pos_++];
      if (c == '\\' && pos_ < text_.size()) {
        char e = text_[pos_++];
        c = e == 'n' ? '\n' : e == 't' ? '\t' : e;
      }
      out.push_back(c);
    }
    if (pos_ >= text_.size()) return Error("unterminated string");
    ++pos_;
    return out;
  }

  absl::string_view text_;
  size_t pos_ = 0;
};

}  // namespace

const KeyValues* KeyValues::Find(absl::string_view wanted) const {
  for (const KeyValues& child : children) {
    if (absl::EqualsIgnoreCase(child.key, wanted)) return &child;
  }
  return nullptr;
}

const KeyValues* KeyValues::FindPath(absl::Span<const absl::string_view> path) const {
  const KeyValues* node = this;
  for (absl::string_view key : path) {
    node = node->Find(key);
    if (node == nullptr) return nullptr;
  }
  return node;
}

absl::StatusOr<KeyValues> ParseKeyValues(absl::string_view text) {
  if (text.size() > kMaxBytes) return absl::InvalidArgumentError("keyvalues: text too large");
  KeyValues root;
  root.is_section = true;
  Parser parser(text);
  L4D2_RETURN_IF_ERROR(parser.ParseSection(&root, 0));
  return root;
}

absl::StatusOr<std::string> ParseAppManifestBuildId(absl::string_view text) {
  L4D2_ASSIGN_OR_RETURN(KeyValues root, ParseKeyValues(text));
  const KeyValues* build = root.FindPath({"AppState", "buildid"});
  if (build == nullptr || build->is_section || build->value.empty() ||
      !std::all_of(build->value.begin(), build->value.end(), absl::ascii_isdigit)) {
    return absl::InvalidArgumentError("app manifest: no numeric \"buildid\" in \"AppState\"");
  }
  return build->value;
}

}  // namespace l4d2::agent
