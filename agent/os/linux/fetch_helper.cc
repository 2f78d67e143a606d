#include "agent/os/linux/fetch_helper.h"

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "agent/os/linux/bubblewrap_sandbox.h"
#include "agent/os/linux/passwd_server_users.h"
#include "common/file_util.h"
#include "common/status_macros.h"

namespace l4d2::agent {
namespace {

// Time for the helper to start and end beyond the work's own limit.
constexpr absl::Duration kGrace = absl::Seconds(30);

std::string ScratchName(const std::string& dir, absl::string_view what) {
  static std::atomic<uint64_t> counter{0};
  return absl::StrCat(dir, "/fetch-", ::getpid(), "-", counter.fetch_add(1), ".", what);
}

}  // namespace

FetchHelper::FetchHelper(ProcessRunner& runner, FetchHelperOptions options)
    : runner_(runner), options_(std::move(options)) {}

absl::StatusOr<std::optional<ServerAccount>> FetchHelper::Account() const {
  if (options_.user.empty()) return std::nullopt;
  return UnprivilegedAccount(options_.user, "left4me-fetch (fetch_user)");
}

absl::StatusOr<uint64_t> FetchHelper::Run(std::vector<std::string> args, absl::Duration timeout,
                                          const std::optional<ServerAccount>& account) {
  if (account) {
    args.insert(args.begin(), {"--as", absl::StrCat(account->uid, ":", account->gid)});
  }
  args.insert(args.begin(), options_.program);
  absl::StatusOr<ProcessResult> result = RunProcess(
      runner_, {.argv = args, .env = options_.env, .cwd = "/"}, timeout + kGrace, 64 << 10);
  if (!result.ok()) {
    return absl::UnavailableError(absl::StrCat("left4me-fetch: ", result.status().message()));
  }
  // The last line is the answer.
  std::vector<absl::string_view> lines =
      absl::StrSplit(result->output, '\n', absl::SkipWhitespace());
  absl::string_view last = lines.empty() ? "" : lines.back();
  uint64_t value = 0;
  int code = 0;
  if (absl::ConsumePrefix(&last, "ok ") && absl::SimpleAtoi(last, &value) &&
      result->exit.success()) {
    return value;
  }
  if (absl::ConsumePrefix(&last, "error ")) {
    const size_t space = last.find(' ');
    if (absl::SimpleAtoi(last.substr(0, space), &code) && code > 0 && code <= 16) {
      return absl::Status(static_cast<absl::StatusCode>(code),
                          space == absl::string_view::npos ? "" : last.substr(space + 1));
    }
  }
  return absl::InternalError(absl::StrCat("left4me-fetch ended (", result->exit.ToString(),
                                          ") without an answer: ", result->output.substr(0, 300)));
}

absl::StatusOr<uint64_t> FetchHelper::Fetch(const std::string& url, const std::string& path,
                                            uint64_t max_bytes, absl::Duration timeout) {
  L4D2_ASSIGN_OR_RETURN(const std::optional<ServerAccount> account, Account());
  absl::StatusOr<uint64_t> fetched = Run(
      {"get", url, path, absl::StrCat(max_bytes), absl::StrCat(absl::ToInt64Milliseconds(timeout))},
      timeout, account);
  // Handed to the helper's account for the download; root's again before anyone uses it.
  if (account && ::lchown(path.c_str(), 0, 0) != 0 && errno != ENOENT) {
    return ErrnoError(errno, "take back", path);
  }
  return fetched;
}

absl::StatusOr<std::string> FetchHelper::PostForm(const std::string& url, const std::string& form,
                                                  uint64_t max_bytes, absl::Duration timeout) {
  return Post("post", url, form, max_bytes, timeout);
}

absl::StatusOr<std::string> FetchHelper::PostJson(const std::string& url, const std::string& json,
                                                  uint64_t max_bytes, absl::Duration timeout) {
  return Post("post-json", url, json, max_bytes, timeout);
}

absl::StatusOr<std::string> FetchHelper::Post(const char* verb, const std::string& url,
                                              const std::string& form, uint64_t max_bytes,
                                              absl::Duration timeout) {
  const std::string form_file = ScratchName(options_.scratch_dir, "form");
  const std::string body_file = ScratchName(options_.scratch_dir, "body");
  absl::Cleanup remove = [&] {
    ::unlink(form_file.c_str());
    ::unlink(body_file.c_str());
  };
  L4D2_ASSIGN_OR_RETURN(const std::optional<ServerAccount> account, Account());
  L4D2_RETURN_IF_ERROR(WriteFileAtomically(form_file, form, 0600, Durability::kRegenerable));
  L4D2_RETURN_IF_ERROR(Run({verb, url, form_file, body_file, absl::StrCat(max_bytes),
                            absl::StrCat(absl::ToInt64Milliseconds(timeout))},
                           timeout, account)
                           .status());
  return ReadFileToString(body_file, max_bytes + 1);
}

absl::StatusOr<uint64_t> FetchHelper::Extract(const std::string& archive,
                                              const std::string& destination,
                                              uint32_t strip_components,
                                              const ExtractLimits& limits) {
  L4D2_ASSIGN_OR_RETURN(const std::optional<ServerAccount> account, Account());
  const std::vector<std::string> args = {"extract",
                                         archive,
                                         destination,
                                         absl::StrCat(strip_components),
                                         absl::StrCat(limits.max_bytes),
                                         absl::StrCat(limits.max_entries)};
  if (!account) return Run(args, options_.extract_timeout, account);
  // The helper's account extracts into a directory it owns; the tree is root's again after,
  // whatever happened (as an overlay script's, bubblewrap_sandbox.h).
  if (::chown(destination.c_str(), account->uid, account->gid) != 0) {
    return ErrnoError(errno, "hand over", destination);
  }
  absl::StatusOr<uint64_t> extracted = Run(args, options_.extract_timeout, account);
  L4D2_RETURN_IF_ERROR(ReclaimTree(destination));
  if (::lchown(archive.c_str(), 0, 0) != 0 && errno != ENOENT) {
    return ErrnoError(errno, "take back", archive);
  }
  return extracted;
}

}  // namespace l4d2::agent
