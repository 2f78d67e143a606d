#include "agent/console/console_batcher.h"

namespace l4d2::agent {

ConsoleBatcher::ConsoleBatcher(size_t max_entry_bytes)
    : max_entry_bytes_(max_entry_bytes > 0 ? max_entry_bytes : 1) {}

std::vector<std::string> ConsoleBatcher::Feed(std::string_view bytes) {
  pending_.append(bytes);
  std::vector<std::string> entries;
  size_t start = 0;
  while (start < pending_.size()) {
    const size_t window = std::min(pending_.size() - start, max_entry_bytes_);
    // The last newline within the window ends this entry.
    const size_t newline = std::string_view(pending_).substr(start, window).rfind('\n');
    if (newline != std::string_view::npos) {
      entries.push_back(pending_.substr(start, newline + 1));
      start += newline + 1;
    } else if (window == max_entry_bytes_) {
      entries.push_back(pending_.substr(start, window));  // a line too long: cut
      start += window;
    } else {
      break;  // a partial line: wait for the rest
    }
  }
  pending_.erase(0, start);
  return entries;
}

std::vector<std::string> ConsoleBatcher::Finish() {
  std::vector<std::string> entries;
  if (!pending_.empty()) entries.push_back(std::move(pending_));
  pending_.clear();
  return entries;
}

}  // namespace l4d2::agent
