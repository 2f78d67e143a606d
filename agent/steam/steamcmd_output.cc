#include "agent/steam/steamcmd_output.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "agent/steam/keyvalues.h"
#include "common/status_macros.h"

namespace l4d2::agent {
namespace {

// Parses "Update state (0x61) downloading, progress: 12.34 (123 / 456)".
bool ParseProgress(absl::string_view line, SteamcmdLine* out) {
  absl::string_view rest = absl::StripLeadingAsciiWhitespace(line);
  if (!absl::ConsumePrefix(&rest, "Update state (")) return false;
  size_t close = rest.find(')');
  if (close == absl::string_view::npos) return false;
  out->state = std::string(rest.substr(0, close));
  rest.remove_prefix(close + 1);
  size_t comma = rest.find(", progress: ");
  if (comma == absl::string_view::npos) return false;
  out->phase = std::string(absl::StripAsciiWhitespace(rest.substr(0, comma)));
  rest.remove_prefix(comma + strlen(", progress: "));
  size_t open = rest.find(" (");
  if (open == absl::string_view::npos || !absl::SimpleAtod(rest.substr(0, open), &out->percent)) {
    return false;
  }
  rest.remove_prefix(open + 2);
  size_t slash = rest.find(" / ");
  size_t end = rest.find(')');
  if (slash == absl::string_view::npos || end == absl::string_view::npos || end < slash) {
    return false;
  }
  return absl::SimpleAtoi(rest.substr(0, slash), &out->bytes_done) &&
         absl::SimpleAtoi(rest.substr(slash + 3, end - slash - 3), &out->bytes_total);
}

}  // namespace

SteamcmdLine ParseSteamcmdLine(absl::string_view line) {
  SteamcmdLine parsed;
  absl::string_view trimmed = absl::StripAsciiWhitespace(line);
  if (ParseProgress(trimmed, &parsed)) {
    parsed.kind = SteamcmdLine::Kind::kProgress;
  } else if (absl::StartsWith(trimmed, "Success! App '")) {
    parsed.kind = SteamcmdLine::Kind::kSuccess;
    parsed.already_up_to_date = absl::StrContains(trimmed, "already up to date");
  } else if (absl::ConsumePrefix(&trimmed, "ERROR! ")) {
    parsed.kind = SteamcmdLine::Kind::kError;
    parsed.message = std::string(trimmed);
  } else if (absl::StartsWith(trimmed, "FAILED (")) {
    parsed.kind = SteamcmdLine::Kind::kError;
    parsed.message = absl::StrCat("login ", trimmed);
  }
  return parsed;
}

absl::StatusOr<std::string> ParseAppInfoBuildId(absl::string_view output, absl::string_view app,
                                                absl::string_view branch) {
  // The block starts at the line that is exactly the quoted app id.
  const std::string header = absl::StrCat("\"", app, "\"");
  size_t start = absl::string_view::npos;
  for (size_t at = 0; at < output.size();) {
    size_t end = output.find('\n', at);
    if (end == absl::string_view::npos) end = output.size();
    if (absl::StripAsciiWhitespace(output.substr(at, end - at)) == header) {
      start = at;
      break;
    }
    at = end + 1;
  }
  if (start == absl::string_view::npos) {
    return absl::NotFoundError(absl::StrCat("no app info for app ", app, " in steamcmd output"));
  }
  // Parse the one balanced block that starts there.
  absl::string_view rest = output.substr(start);
  int depth = 0;
  size_t end = absl::string_view::npos;
  bool quoted = false;
  for (size_t i = 0; i < rest.size(); ++i) {
    char c = rest[i];
    if (c == '"' && (i == 0 || rest[i - 1] != '\\')) quoted = !quoted;
    if (quoted) continue;
    if (c == '{') ++depth;
    if (c == '}' && --depth == 0) {
      end = i + 1;
      break;
    }
  }
  if (end == absl::string_view::npos) {
    return absl::InvalidArgumentError("app info block is not closed");
  }
  L4D2_ASSIGN_OR_RETURN(KeyValues root, ParseKeyValues(rest.substr(0, end)));
  const std::string wanted = branch.empty() ? "public" : std::string(branch);
  const KeyValues* build = root.FindPath({app, "depots", "branches", wanted, "buildid"});
  if (build == nullptr || build->is_section || build->value.empty()) {
    return absl::NotFoundError(absl::StrCat("app ", app, " has no branch '", wanted, "'"));
  }
  return build->value;
}

}  // namespace l4d2::agent
