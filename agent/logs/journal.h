#pragma once

// A server's console as journald keeps it, as pure pieces: what a log request asks for, the
// check of a client's cursor, and the making of LogLines from an entry's fields. journald
// keeps the history across agent restarts; the cursor of each line lets a client resume
// exactly after it. Reading the journal itself is an OS capability (os/journal_reader.h).

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
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

// The fields of one journal entry that make console lines.
struct JournalEntry {
  std::string cursor;
  uint64_t realtime_usec = 0;
  std::string message;            // MESSAGE, as bytes
  std::string syslog_identifier;  // SYSLOG_IDENTIFIER
  std::string comm;               // _COMM
  // Lines of this entry not to send: set by a reader on its first entry when a client resumes
  // inside it, or when the newest N lines start inside it.
  size_t skip_lines = 0;
};

// The lines of a MESSAGE: one trailing newline dropped, then split at newlines, one trailing
// carriage return dropped from each. An entry of the console forwarder holds every line one
// read of the game's output brought, each with its newline (agent/console/console_batcher.h);
// entries journald made from a stream, and most others, hold one line without.
std::vector<absl::string_view> MessageLines(absl::string_view message);

// The lines a client sees of `entry` (from skip_lines on): invalid UTF-8 replaced by U+FFFD
// (proto strings must be UTF-8), the identifier or else the command as the source. The last
// line's cursor is the entry's; an earlier line's is "<entry cursor>;l=<index>", so a client
// resumes exactly after any line (ParseLineCursor).
std::vector<v1::LogLine> ToLogLines(const JournalEntry& entry);

// A client's cursor: the journal entry, and how many of its lines the client has.
struct LineCursor {
  std::string journal_cursor;
  // 0: the whole entry (resume after it); n: its first n lines (resume inside it).
  size_t lines_seen = 0;
};
// INVALID_ARGUMENT unless `cursor` is one ToLogLines made.
absl::StatusOr<LineCursor> ParseLineCursor(absl::string_view cursor);

}  // namespace l4d2::agent
