#include "agent/os/proc_parsers.h"

#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace l4d2::agent {

absl::StatusOr<MemoryFacts> ParseMeminfo(absl::string_view text) {
  MemoryFacts facts;
  bool have_total = false;
  bool have_available = false;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    // "MemTotal:       24578684 kB"
    std::vector<absl::string_view> fields =
        absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipEmpty());
    if (fields.size() != 3 || fields[2] != "kB") continue;
    uint64_t kib = 0;
    if (!absl::SimpleAtoi(fields[1], &kib)) continue;
    if (fields[0] == "MemTotal:") {
      facts.total_bytes = kib * 1024;
      have_total = true;
    } else if (fields[0] == "MemAvailable:") {
      facts.available_bytes = kib * 1024;
      have_available = true;
    }
  }
  if (!have_total || !have_available) {
    return absl::InvalidArgumentError("meminfo: MemTotal or MemAvailable missing");
  }
  return facts;
}

absl::StatusOr<double> ParseLoadavg(absl::string_view text) {
  // "0.52 0.58 0.59 1/389 12345"
  std::vector<absl::string_view> fields = absl::StrSplit(text, ' ', absl::SkipEmpty());
  double load = 0;
  if (fields.empty() || !absl::SimpleAtod(fields[0], &load)) {
    return absl::InvalidArgumentError("loadavg: malformed");
  }
  return load;
}

}  // namespace l4d2::agent
