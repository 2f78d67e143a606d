#include "agent/logs/journal.h"

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"

namespace l4d2::agent {
namespace {

// A journald cursor: "s=...;i=...;b=...;m=...;t=...;x=..." of hex digits and those separators.
bool IsCursor(absl::string_view cursor) {
  if (cursor.empty() || cursor.size() > 512) return false;
  for (char c : cursor) {
    if (!absl::ascii_isxdigit(static_cast<unsigned char>(c)) && c != ';' && c != '=' &&
        !absl::ascii_islower(static_cast<unsigned char>(c))) {
      return false;
    }
  }
  return cursor[0] != '-';
}

std::string FieldText(const google::protobuf::Value& value) {
  if (value.kind_case() == google::protobuf::Value::kStringValue) return value.string_value();
  if (value.kind_case() == google::protobuf::Value::kListValue) {
    // Binary-safe form: an array of byte values.
    std::string bytes;
    for (const google::protobuf::Value& byte : value.list_value().values()) {
      bytes.push_back(static_cast<char>(static_cast<int>(byte.number_value())));
    }
    return bytes;
  }
  return "";
}

}  // namespace

absl::StatusOr<std::vector<std::string>> JournalctlArguments(const JournalQuery& query) {
  std::vector<std::string> args = {"--no-pager",
                                   "--quiet",
                                   "-o",
                                   "json",
                                   "--output-fields=MESSAGE,SYSLOG_IDENTIFIER,_COMM",
                                   absl::StrCat("--unit=", query.unit)};
  if (!query.after_cursor.empty()) {
    if (!IsCursor(query.after_cursor)) {
      return absl::InvalidArgumentError("after_cursor: not a journal cursor");
    }
    args.push_back(absl::StrCat("--after-cursor=", query.after_cursor));
  } else {
    args.push_back(absl::StrCat("--lines=", query.lines));
  }
  if (query.follow) args.push_back("--follow");
  return args;
}

absl::StatusOr<v1::LogLine> ParseJournalJsonLine(absl::string_view line) {
  google::protobuf::Struct entry;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  if (!google::protobuf::util::JsonStringToMessage(std::string(line), &entry, options).ok()) {
    return absl::InvalidArgumentError("journal: not a JSON object");
  }
  const auto& fields = entry.fields();
  v1::LogLine out;
  auto cursor = fields.find("__CURSOR");
  if (cursor == fields.end()) return absl::InvalidArgumentError("journal: entry without cursor");
  out.set_cursor(cursor->second.string_value());
  if (auto it = fields.find("__REALTIME_TIMESTAMP"); it != fields.end()) {
    int64_t micros = 0;
    if (absl::SimpleAtoi(it->second.string_value(), &micros)) {
      out.mutable_time()->set_seconds(micros / 1000000);
      out.mutable_time()->set_nanos(static_cast<int32_t>(micros % 1000000) * 1000);
    }
  }
  if (auto it = fields.find("MESSAGE"); it != fields.end()) {
    std::string text = FieldText(it->second);
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
    out.set_text(std::move(text));
  }
  for (const char* source : {"SYSLOG_IDENTIFIER", "_COMM"}) {
    if (auto it = fields.find(source); it != fields.end() && out.source().empty()) {
      out.set_source(FieldText(it->second));
    }
  }
  return out;
}

}  // namespace l4d2::agent
