#pragma once

// Journal with libsystemd's sd-journal: the local journal files, matched to one unit the way
// `journalctl --unit` does (the unit's own output, and the manager's messages about it, for a
// system or a user manager). New entries are read straight from the files journald appends to,
// so a caller polling Next() sees a line within its poll interval of journald writing it.

#include "agent/os/journal_reader.h"

namespace l4d2::agent {

class SdJournal final : public Journal {
 public:
  absl::StatusOr<std::unique_ptr<JournalReader>> Open(const JournalQuery& query) override;
};

}  // namespace l4d2::agent
