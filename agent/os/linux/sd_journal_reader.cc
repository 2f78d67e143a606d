#include "agent/os/linux/sd_journal_reader.h"

#include <string.h>
#include <systemd/sd-journal.h>

#include "absl/strings/str_cat.h"
#include "common/file_util.h"
#include "common/status_macros.h"

namespace l4d2::agent {
namespace {

absl::Status JournalError(int negative_errno, absl::string_view action) {
  return absl::UnavailableError(absl::StrCat("journal: ", action, ": ", strerror(-negative_errno)));
}

// The value of `field` in the current entry; empty when the entry has none.
std::string Field(sd_journal* journal, const char* field) {
  const void* data = nullptr;
  size_t length = 0;
  if (sd_journal_get_data(journal, field, &data, &length) < 0) return "";
  absl::string_view text(static_cast<const char*>(data), length);
  const size_t prefix = strlen(field) + 1;  // "FIELD="
  return text.size() >= prefix ? std::string(text.substr(prefix)) : "";
}

class SdJournalReader final : public JournalReader {
 public:
  // Takes ownership of `journal`; `on_entry`: positioned on an entry not read yet, of which the
  // first `skip_lines` lines are not to be sent.
  SdJournalReader(sd_journal* journal, bool on_entry, size_t skip_lines)
      : journal_(journal), on_entry_(on_entry), skip_lines_(skip_lines) {}
  ~SdJournalReader() override { sd_journal_close(journal_); }

  absl::StatusOr<std::vector<JournalEntry>> Next(size_t max) override {
    // Picks up files journald opened since (rotation); the entries themselves need no wake-up.
    (void)sd_journal_process(journal_);
    std::vector<JournalEntry> entries;
    while (entries.size() < max) {
      JournalEntry entry;
      if (on_entry_) {
        on_entry_ = false;
        entry.skip_lines = skip_lines_;
      } else {
        int moved = sd_journal_next(journal_);
        if (moved < 0) return JournalError(moved, "next entry");
        if (moved == 0) break;
      }
      char* cursor = nullptr;
      if (int r = sd_journal_get_cursor(journal_, &cursor); r < 0) return JournalError(r, "cursor");
      entry.cursor = cursor;
      free(cursor);
      (void)sd_journal_get_realtime_usec(journal_, &entry.realtime_usec);
      entry.message = Field(journal_, "MESSAGE");
      entry.syslog_identifier = Field(journal_, "SYSLOG_IDENTIFIER");
      entry.comm = Field(journal_, "_COMM");
      entries.push_back(std::move(entry));
    }
    return entries;
  }

 private:
  sd_journal* journal_;
  bool on_entry_;
  size_t skip_lines_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<JournalReader>> SdJournal::Open(const JournalQuery& query) {
  LineCursor after;
  if (!query.after_cursor.empty()) {
    L4D2_ASSIGN_OR_RETURN(after, ParseLineCursor(query.after_cursor));
  }
  sd_journal* journal = nullptr;
  if (int r = sd_journal_open(&journal, SD_JOURNAL_LOCAL_ONLY); r < 0)
    return JournalError(r, "open");
  auto fail = [journal](int r, absl::string_view action) {
    sd_journal_close(journal);
    return JournalError(r, action);
  };
  // As journalctl --unit: the unit's processes, and its manager's messages about it (PID 1 for
  // the system manager, a root user manager in development).
  const std::string unit = query.unit;
  const std::vector<std::vector<std::string>> groups = {{"_SYSTEMD_UNIT=" + unit},
                                                        {"_SYSTEMD_USER_UNIT=" + unit},
                                                        {"UNIT=" + unit, "_PID=1"},
                                                        {"USER_UNIT=" + unit, "_UID=0"}};
  for (size_t g = 0; g < groups.size(); ++g) {
    if (g > 0) {
      if (int r = sd_journal_add_disjunction(journal); r < 0) return fail(r, "match");
    }
    for (const std::string& match : groups[g]) {
      if (int r = sd_journal_add_match(journal, match.data(), match.size()); r < 0) {
        return fail(r, "match");
      }
    }
  }
  bool on_entry = false;
  size_t skip_lines = 0;
  if (!query.after_cursor.empty()) {
    const char* cursor = after.journal_cursor.c_str();
    if (int r = sd_journal_seek_cursor(journal, cursor); r < 0) {
      return fail(r, "seek to the cursor");
    }
    int moved = sd_journal_next(journal);
    if (moved < 0) return fail(moved, "seek to the cursor");
    const bool found = moved > 0 && sd_journal_test_cursor(journal, cursor) > 0;
    if (found && after.lines_seen > 0) {
      // Inside the cursor's entry: the rest of its lines, then on.
      on_entry = true;
      skip_lines = after.lines_seen;
    } else {
      // The cursor's own entry was sent before; an entry after it (the cursor's one is gone)
      // not.
      on_entry = moved > 0 && !found;
    }
  } else {
    // Back entry by entry until the newest `lines` lines are covered (an entry may hold many).
    if (int r = sd_journal_seek_tail(journal); r < 0) return fail(r, "seek to the end");
    size_t lines = 0;
    const size_t wanted = static_cast<size_t>(query.lines);
    while (lines < wanted) {
      int moved = sd_journal_previous(journal);
      if (moved < 0) return fail(moved, "seek back");
      if (moved == 0) break;
      on_entry = true;
      lines += MessageLines(Field(journal, "MESSAGE")).size();
    }
    skip_lines = lines > wanted ? lines - wanted : 0;
  }
  return std::make_unique<SdJournalReader>(journal, on_entry, skip_lines);
}

}  // namespace l4d2::agent
