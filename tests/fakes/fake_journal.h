#pragma once

// A Journal in memory: entries appended by the test, per unit, with cursors "s=<n>". Readers
// see entries appended after they opened, as a real follower would. Thread-safe.

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "agent/os/journal_reader.h"

namespace l4d2::testing {

class FakeJournal final : public agent::Journal {
 public:
  void Append(const std::string& unit, const std::string& message) {
    absl::MutexLock lock(&state_->mutex);
    agent::JournalEntry entry;
    entry.cursor = absl::StrCat("s=", state_->entries.size() + 1);
    entry.realtime_usec = 1795305813000000 + state_->entries.size();
    entry.message = message + "\n";
    entry.syslog_identifier = "srcds_run";
    state_->entries.push_back({unit, std::move(entry)});
  }

  absl::StatusOr<std::unique_ptr<agent::JournalReader>> Open(
      const agent::JournalQuery& query) override {
    absl::MutexLock lock(&state_->mutex);
    size_t next = 0;
    if (!query.after_cursor.empty()) {
      size_t index = 0;
      if (!absl::SimpleAtoi(query.after_cursor.substr(2), &index)) {
        return absl::InvalidArgumentError("after_cursor: not a journal cursor");
      }
      next = index;
    } else {
      // The newest `lines` of the unit.
      std::vector<size_t> own;
      for (size_t i = 0; i < state_->entries.size(); ++i) {
        if (state_->entries[i].unit == query.unit) own.push_back(i);
      }
      next = own.size() > static_cast<size_t>(query.lines)
                 ? own[own.size() - query.lines]
                 : (own.empty() ? state_->entries.size() : own.front());
    }
    return std::make_unique<Reader>(state_, query.unit, next);
  }

 private:
  struct Stored {
    std::string unit;
    agent::JournalEntry entry;
  };
  struct State {
    absl::Mutex mutex;
    std::vector<Stored> entries ABSL_GUARDED_BY(mutex);
  };
  class Reader final : public agent::JournalReader {
   public:
    Reader(std::shared_ptr<State> state, std::string unit, size_t next)
        : state_(std::move(state)), unit_(std::move(unit)), next_(next) {}
    absl::StatusOr<std::vector<agent::JournalEntry>> Next(size_t max) override {
      absl::MutexLock lock(&state_->mutex);
      std::vector<agent::JournalEntry> out;
      for (; next_ < state_->entries.size() && out.size() < max; ++next_) {
        if (state_->entries[next_].unit == unit_) out.push_back(state_->entries[next_].entry);
      }
      return out;
    }

   private:
    std::shared_ptr<State> state_;
    std::string unit_;
    size_t next_;
  };

  std::shared_ptr<State> state_ = std::make_shared<State>();
};

}  // namespace l4d2::testing
