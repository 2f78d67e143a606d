#include "agent/host/cpu_list.h"

#include <algorithm>
#include <iterator>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace l4d2::agent {

namespace {

constexpr int kMaxCpus = 4096;

absl::StatusOr<int> ParseCpu(absl::string_view text, absl::string_view list) {
  int cpu = 0;
  if (!absl::SimpleAtoi(text, &cpu) || cpu < 0 || cpu >= kMaxCpus ||
      text.find_first_not_of("0123456789") != absl::string_view::npos) {
    return absl::InvalidArgumentError(absl::StrCat("'", list, "' is not a CPU list such as 0-3,6"));
  }
  return cpu;
}

}  // namespace

absl::StatusOr<std::set<int>> ParseCpuList(absl::string_view list) {
  std::set<int> cpus;
  const absl::string_view trimmed = absl::StripAsciiWhitespace(list);
  if (trimmed.empty()) return cpus;
  for (absl::string_view part : absl::StrSplit(trimmed, ',')) {
    const size_t dash = part.find('-');
    absl::StatusOr<int> first = ParseCpu(part.substr(0, dash), list);
    if (!first.ok()) return first.status();
    absl::StatusOr<int> last =
        dash == absl::string_view::npos ? first : ParseCpu(part.substr(dash + 1), list);
    if (!last.ok()) return last.status();
    if (*last < *first) {
      return absl::InvalidArgumentError(absl::StrCat("'", list, "': range ", part, " is reversed"));
    }
    for (int cpu = *first; cpu <= *last; ++cpu) cpus.insert(cpu);
  }
  return cpus;
}

std::string FormatCpuList(const std::set<int>& cpus) {
  std::string list;
  for (auto it = cpus.begin(); it != cpus.end();) {
    const int first = *it;
    int last = first;
    while (++it != cpus.end() && *it == last + 1) last = *it;
    absl::StrAppend(&list, list.empty() ? "" : ",", first);
    if (last > first) absl::StrAppend(&list, "-", last);
  }
  return list;
}

absl::StatusOr<std::string> ServerCpus(absl::string_view online, absl::string_view reserved) {
  absl::StatusOr<std::set<int>> cpus = ParseCpuList(online);
  if (!cpus.ok()) return cpus.status();
  std::set<int> kept;
  if (reserved == "auto") {
    if (cpus->size() >= 4) kept.insert(*cpus->begin());
  } else if (reserved != "none") {
    absl::StatusOr<std::set<int>> listed = ParseCpuList(reserved);
    if (!listed.ok()) return listed.status();
    kept = *std::move(listed);
  }
  if (kept.empty()) return std::string();
  std::set<int> left;
  std::set_difference(cpus->begin(), cpus->end(), kept.begin(), kept.end(),
                      std::inserter(left, left.end()));
  if (left.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("reserving CPUs ", reserved, " of ", online,
                                                   " leaves none for the game servers"));
  }
  return FormatCpuList(left);
}

}  // namespace l4d2::agent
