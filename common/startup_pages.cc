#include "common/startup_pages.h"

#include <sys/mman.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"

namespace l4d2 {

absl::StatusOr<int64_t> ReleaseStartupPages() {
  std::ifstream maps("/proc/self/maps");
  if (!maps) return absl::UnavailableError("cannot read /proc/self/maps");
  // Collected first: advising while reading could change the file under the reader.
  struct Range {
    uintptr_t start, end;
    bool code;
  };
  std::vector<Range> ranges;
  std::string line;
  while (std::getline(maps, line)) {
    // "start-end perms offset dev inode path"; a file mapping's path is absolute.
    std::vector<absl::string_view> fields = absl::StrSplit(line, ' ', absl::SkipEmpty());
    if (fields.size() < 6 || fields[5].empty() || fields[5][0] != '/') continue;
    Range range{};
    if (fields[1].find('w') != absl::string_view::npos) continue;
    // Code: mapped executable and never writable, so its pages are the file's own.
    // Read-only data may not be: relocated constants (RELRO) were written before being made
    // read-only, and dropping them would lose the relocations.
    range.code = fields[1] == "r-xp";
    std::vector<absl::string_view> bounds = absl::StrSplit(fields[0], '-');
    if (bounds.size() != 2 || !absl::SimpleHexAtoi(bounds[0], &range.start) ||
        !absl::SimpleHexAtoi(bounds[1], &range.end) || range.end <= range.start) {
      return absl::InternalError(absl::StrCat("unexpected line in /proc/self/maps: ", line));
    }
    ranges.push_back(range);
  }
  int64_t advised = 0;
  for (const Range& range : ranges) {
    if (madvise(reinterpret_cast<void*>(range.start), range.end - range.start, MADV_PAGEOUT) != 0) {
      // EINVAL: a kernel before 5.4, or a locked or special mapping. Advice only: go on.
      if (errno == EINVAL) continue;
      return absl::InternalError(absl::StrCat("madvise(MADV_PAGEOUT): ", std::strerror(errno)));
    }
    // Pages another process maps too (libc, libcrypto) are not reclaimed by the advice above;
    // code pages can still leave this process's page tables: they stay in the page cache for
    // the others, and a later use here is a minor fault.
    if (range.code &&
        madvise(reinterpret_cast<void*>(range.start), range.end - range.start, MADV_DONTNEED) !=
            0 &&
        errno != EINVAL) {
      return absl::InternalError(absl::StrCat("madvise(MADV_DONTNEED): ", std::strerror(errno)));
    }
    advised += static_cast<int64_t>(range.end - range.start);
  }
  return advised;
}

}  // namespace l4d2
