#pragma once

// OS capability: reading one systemd unit's entries from the journal, from a position a client
// chose (the newest N, or right after a cursor), and then whatever journald appends.
//
// Implementation: os/linux/sd_journal_reader.h (libsystemd's sd-journal, in process: no
// journalctl, and new entries are seen as soon as journald wrote them, not at its 250 ms
// change notifications).

#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "agent/logs/journal.h"

namespace l4d2::agent {

// One reader; not thread-safe.
class JournalReader {
 public:
  virtual ~JournalReader() = default;
  // Up to `max` entries after the previous ones, oldest first; empty when there are none yet.
  virtual absl::StatusOr<std::vector<JournalEntry>> Next(size_t max) = 0;
};

class Journal {
 public:
  virtual ~Journal() = default;
  // A reader positioned by `query` (unit, lines or after_cursor; `follow` is the caller's).
  // INVALID_ARGUMENT for a bad cursor; UNAVAILABLE when the journal cannot be opened.
  virtual absl::StatusOr<std::unique_ptr<JournalReader>> Open(const JournalQuery& query) = 0;
};

}  // namespace l4d2::agent
