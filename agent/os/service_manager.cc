#include "agent/os/service_manager.h"

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace l4d2::agent {
namespace {

// systemd prints 2^64-1 for "not accounted" and "[not set]" for unset numbers.
bool NotSet(absl::string_view value) {
  return value.empty() || value == "[not set]" || value == "18446744073709551615";
}

}  // namespace

std::vector<UnitListing> ParseSystemctlListUnits(absl::string_view text) {
  std::vector<UnitListing> units;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    std::vector<absl::string_view> fields =
        absl::StrSplit(absl::StripLeadingAsciiWhitespace(line), ' ', absl::SkipEmpty());
    // A leading "●" marks failed units in some versions.
    if (!fields.empty() && fields[0] == "\u25cf") fields.erase(fields.begin());
    if (fields.size() < 4) continue;
    units.push_back({std::string(fields[0]), std::string(fields[2]), std::string(fields[3])});
  }
  return units;
}

absl::StatusOr<UnitFacts> ParseSystemctlShow(absl::string_view text) {
  UnitFacts facts;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    size_t eq = line.find('=');
    if (eq == absl::string_view::npos) continue;
    absl::string_view key = line.substr(0, eq);
    absl::string_view value = absl::StripTrailingAsciiWhitespace(line.substr(eq + 1));
    auto number = [&](auto* out) -> absl::Status {
      if (!absl::SimpleAtoi(value, out)) {
        return absl::InvalidArgumentError(
            absl::StrCat("systemctl show: ", key, "='", value, "' is not a number"));
      }
      return absl::OkStatus();
    };
    absl::Status status;
    if (key == "LoadState") {
      facts.load_state = std::string(value);
    } else if (key == "ActiveState") {
      facts.active_state = std::string(value);
    } else if (key == "SubState") {
      facts.sub_state = std::string(value);
    } else if (key == "Result") {
      facts.result = std::string(value);
    } else if (key == "MainPID") {
      status = number(&facts.main_pid);
    } else if (key == "NRestarts") {
      if (!NotSet(value)) status = number(&facts.restarts);
    } else if (key == "ExecMainStatus") {
      status = number(&facts.exec_main_status);
    } else if (key == "MemoryCurrent") {
      uint64_t bytes = 0;
      if (!NotSet(value)) {
        status = number(&bytes);
        facts.memory_bytes = bytes;
      }
    } else if (key == "CPUUsageNSec") {
      uint64_t nanoseconds = 0;
      if (!NotSet(value)) {
        status = number(&nanoseconds);
        facts.cpu_usage = absl::Nanoseconds(nanoseconds);
      }
    } else if (key == "ActiveEnterTimestamp") {
      // --timestamp=unix prints "@<seconds>"; empty or "n/a" when never active.
      absl::string_view seconds = value;
      int64_t unix_seconds = 0;
      if (absl::ConsumePrefix(&seconds, "@") && absl::SimpleAtoi(seconds, &unix_seconds) &&
          unix_seconds > 0) {
        facts.active_since = absl::FromUnixSeconds(unix_seconds);
      }
    }
    if (!status.ok()) return status;
  }
  return facts;
}

absl::Status ValidateUnitName(const std::string& unit) {
  bool ok = !unit.empty() && unit.size() <= 256 && unit[0] != '-';
  for (char c : unit) {
    ok = ok && (absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '@' || c == '.' ||
                c == '_' || c == '-' || c == '*' || c == ':');
  }
  if (!ok) return absl::InvalidArgumentError(absl::StrCat("invalid unit name '", unit, "'"));
  return absl::OkStatus();
}

}  // namespace l4d2::agent
