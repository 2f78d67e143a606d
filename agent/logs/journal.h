#pragma once

// A server's console as journald keeps it, as pure pieces: what a log request asks for, the
// check of a client's cursor, and the making of a LogLine from an entry's fields. journald
// keeps the history across agent restarts; the cursor of each line lets a client resume
// exactly after it. Reading the journal itself is an OS capability (os/journal_reader.h).

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "l4d2/agent/v1/logs.pb.h"

namespace l4d2::agent {

struct JournalQuery {
  std::string unit;
  // The newest `lines` entries (ignored when after_cursor is set).
  int lines = 200;
  std::string after_cursor;
  bool follow = false;
};

// INVALID_ARGUMENT unless `cursor` has the form of a journald cursor
// ("s=...;i=...;b=...;m=...;t=...;x=...").
absl::Status ValidateJournalCursor(absl::string_view cursor);

// The fields of one journal entry that make a console line.
struct JournalEntry {
  std::string cursor;
  uint64_t realtime_usec = 0;
  std::string message;            // MESSAGE, as bytes
  std::string syslog_identifier;  // SYSLOG_IDENTIFIER
  std::string comm;               // _COMM
};

// The line a client sees: trailing newlines dropped, invalid UTF-8 replaced by U+FFFD (proto
// strings must be UTF-8), the identifier or else the command as the source.
v1::LogLine ToLogLine(const JournalEntry& entry);

// `text` with every byte sequence that is not well-formed UTF-8 replaced by U+FFFD.
std::string SanitizeUtf8(absl::string_view text);

}  // namespace l4d2::agent
