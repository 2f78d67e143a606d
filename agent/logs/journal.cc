#include "agent/logs/journal.h"

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/status_macros.h"
#include "common/utf8.h"

namespace l4d2::agent {

absl::Status ValidateJournalCursor(absl::string_view cursor) {
  bool ok = !cursor.empty() && cursor.size() <= 512 && cursor[0] != '-';
  for (char c : cursor) {
    ok = ok && (absl::ascii_isxdigit(static_cast<unsigned char>(c)) || c == ';' || c == '=' ||
                absl::ascii_islower(static_cast<unsigned char>(c)));
  }
  return ok ? absl::OkStatus() : absl::InvalidArgumentError("after_cursor: not a journal cursor");
}

std::vector<absl::string_view> MessageLines(absl::string_view message) {
  if (!message.empty() && message.back() == '\n') message.remove_suffix(1);
  std::vector<absl::string_view> lines = absl::StrSplit(message, '\n');
  for (absl::string_view& line : lines) {
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  }
  return lines;
}

std::vector<v1::LogLine> ToLogLines(const JournalEntry& entry) {
  const std::vector<absl::string_view> lines = MessageLines(entry.message);
  const std::string source =
      SanitizeUtf8(!entry.syslog_identifier.empty() ? entry.syslog_identifier : entry.comm);
  std::vector<v1::LogLine> out;
  for (size_t i = entry.skip_lines; i < lines.size(); ++i) {
    v1::LogLine& line = out.emplace_back();
    line.set_cursor(i + 1 == lines.size() ? entry.cursor : absl::StrCat(entry.cursor, ";l=", i));
    line.mutable_time()->set_seconds(static_cast<int64_t>(entry.realtime_usec / 1000000));
    line.mutable_time()->set_nanos(static_cast<int32_t>(entry.realtime_usec % 1000000) * 1000);
    line.set_text(SanitizeUtf8(lines[i]));
    line.set_source(source);
  }
  return out;
}

absl::StatusOr<LineCursor> ParseLineCursor(absl::string_view cursor) {
  L4D2_RETURN_IF_ERROR(ValidateJournalCursor(cursor));
  LineCursor parsed{.journal_cursor = std::string(cursor)};
  // journald's own cursors have no "l=" field.
  const size_t at = cursor.rfind(";l=");
  if (at == absl::string_view::npos) return parsed;
  size_t index = 0;
  if (!absl::SimpleAtoi(cursor.substr(at + 3), &index) || at == 0 ||
      cursor.substr(at + 3).find_first_not_of("0123456789") != absl::string_view::npos) {
    return absl::InvalidArgumentError("after_cursor: not a journal cursor");
  }
  parsed.journal_cursor = std::string(cursor.substr(0, at));
  parsed.lines_seen = index + 1;
  return parsed;
}

}  // namespace l4d2::agent
