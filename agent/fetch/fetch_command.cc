#include "agent/fetch/fetch_command.h"

#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "agent/fetch/archive.h"
#include "agent/fetch/curl_http_fetcher.h"
#include "common/file_util.h"

namespace l4d2::agent {
namespace {

int Report(std::ostream& out, const absl::StatusOr<uint64_t>& result) {
  if (result.ok()) {
    out << "ok " << *result << "\n";
    return 0;
  }
  std::string message(result.status().message());
  for (char& c : message) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  out << "error " << static_cast<int>(result.status().code()) << " " << message << "\n";
  return 1;
}

}  // namespace

int RunFetchCommand(const std::vector<std::string>& args, std::ostream& out) {
  auto number = [&](size_t i, uint64_t* value) {
    return i < args.size() && absl::SimpleAtoi(args[i], value);
  };
  uint64_t max_bytes = 0, timeout_ms = 0, strip = 0, max_entries = 0;
  if (args.size() == 5 && args[0] == "get" && number(3, &max_bytes) && number(4, &timeout_ms)) {
    CurlHttpFetcher fetcher;
    return Report(out, fetcher.Fetch(args[1], args[2], max_bytes, absl::Milliseconds(timeout_ms)));
  }
  if (args.size() == 6 && (args[0] == "post" || args[0] == "post-json") && number(4, &max_bytes) &&
      number(5, &timeout_ms)) {
    absl::StatusOr<std::string> form = ReadFileToString(args[2], 16 << 20);
    if (!form.ok()) return Report(out, form.status());
    CurlHttpFetcher fetcher;
    absl::StatusOr<std::string> body =
        args[0] == "post"
            ? fetcher.PostForm(args[1], *form, max_bytes, absl::Milliseconds(timeout_ms))
            : fetcher.PostJson(args[1], *form, max_bytes, absl::Milliseconds(timeout_ms));
    if (!body.ok()) return Report(out, body.status());
    absl::Status written = WriteFileAtomically(args[3], *body, 0600, Durability::kRegenerable);
    if (!written.ok()) return Report(out, written);
    return Report(out, body->size());
  }
  if (args.size() == 6 && args[0] == "extract" && number(3, &strip) && strip <= 64 &&
      number(4, &max_bytes) && number(5, &max_entries)) {
    return Report(out, ExtractArchive(args[1], args[2], static_cast<uint32_t>(strip),
                                      {.max_bytes = max_bytes, .max_entries = max_entries}));
  }
  out << "error " << static_cast<int>(absl::StatusCode::kInvalidArgument)
      << " usage: left4me-fetch get URL OUT MAX_BYTES TIMEOUT_MS | post URL FORM_FILE OUT "
         "MAX_BYTES TIMEOUT_MS | extract ARCHIVE DEST STRIP MAX_BYTES MAX_ENTRIES\n";
  return 2;
}

}  // namespace l4d2::agent
