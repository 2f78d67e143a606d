#pragma once

// Reading a server's console from journald with journalctl (-o json), as pure pieces:
// the command line for a request, and the parse of one output line into a LogLine.
// journald keeps the history across agent restarts; the cursor of each line lets a client
// resume exactly after it.

#include <string>
#include <vector>

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

// journalctl's arguments (without the program). INVALID_ARGUMENT for a cursor that is not
// journald's (it reaches argv).
absl::StatusOr<std::vector<std::string>> JournalctlArguments(const JournalQuery& query);

// One line of `journalctl -o json`. Messages journald stored as bytes (arrays) are decoded;
// invalid UTF-8 is kept as bytes would be, replaced by U+FFFD.
absl::StatusOr<v1::LogLine> ParseJournalJsonLine(absl::string_view line);

}  // namespace l4d2::agent
