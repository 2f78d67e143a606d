#include "agent/os/proc_parsers.h"

#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
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

absl::Status AppendSocketPorts(absl::string_view table, bool listening_only, int first, int last,
                               std::vector<int>& ports) {
  // "  sl  local_address rem_address   st tx_queue rx_queue ..." then one socket per line:
  // "   0: 0100007F:6987 00000000:0000 0A 00000000:00000000 ..." (hex port; state 0A is LISTEN).
  constexpr absl::string_view kListen = "0A";
  bool header = true;
  for (absl::string_view line : absl::StrSplit(table, '\n', absl::SkipWhitespace())) {
    if (header) {
      header = false;
      continue;
    }
    std::vector<absl::string_view> fields =
        absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipEmpty());
    size_t colon = fields.size() < 4 ? absl::string_view::npos : fields[1].rfind(':');
    uint32_t port = 0;
    if (colon == absl::string_view::npos ||
        !absl::SimpleHexAtoi(fields[1].substr(colon + 1), &port) || port > 65535) {
      return absl::InvalidArgumentError(
          absl::StrCat("socket table: malformed line '", absl::CEscape(line.substr(0, 80)), "'"));
    }
    if (listening_only && fields[3] != kListen) continue;
    if (static_cast<int>(port) >= first && static_cast<int>(port) <= last) {
      ports.push_back(static_cast<int>(port));
    }
  }
  return absl::OkStatus();
}

}  // namespace l4d2::agent
