#include "agent/fetch/fetch_command.h"

#include <fcntl.h>
#include <grp.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "agent/fetch/archive.h"
#include "common/file_util.h"
#include "common/http/curl_http_fetcher.h"

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

// The account of --as.
struct Account {
  uid_t uid;
  gid_t gid;
};

// Opens `path` (creating it when `create`) as the current user and gives it to `account`;
// returns the path by which the account reaches it once root is dropped.
absl::StatusOr<std::string> HandOver(const std::string& path, bool create, const Account& account) {
  const int fd = create ? ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, 0600)
                        : ::open(path.c_str(), O_RDONLY | O_NOFOLLOW);
  if (fd < 0) return ErrnoError(errno, create ? "create" : "open", path);
  if (::fchown(fd, account.uid, account.gid) != 0) return ErrnoError(errno, "chown", path);
  return absl::StrCat("/proc/self/fd/", fd);  // kept open for the process's life
}

absl::Status DropTo(const Account& account) {
  if (account.uid == 0 || account.gid == 0) {
    return absl::InvalidArgumentError("--as: never root");
  }
  if (::getuid() == account.uid && ::geteuid() == account.uid) return absl::OkStatus();
  if (::setgroups(0, nullptr) != 0 || ::setresgid(account.gid, account.gid, account.gid) != 0 ||
      ::setresuid(account.uid, account.uid, account.uid) != 0 ||
      ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
    return ErrnoError(errno, "drop privileges to", absl::StrCat(account.uid, ":", account.gid));
  }
  if (::getuid() != account.uid || ::setuid(0) == 0) {
    return absl::InternalError("left4me-fetch: privileges were not dropped");
  }
  return absl::OkStatus();
}

}  // namespace

int RunFetchCommand(const std::vector<std::string>& given, std::ostream& out) {
  std::vector<std::string> args = given;
  // --as UID:GID: hand the files over, then drop to the account before any untrusted byte.
  if (args.size() >= 2 && args[0] == "--as") {
    std::pair<std::string, std::string> ids = absl::StrSplit(args[1], ':');
    uint32_t uid = 0, gid = 0;
    if (!absl::SimpleAtoi(ids.first, &uid) || !absl::SimpleAtoi(ids.second, &gid)) {
      return Report(out, absl::InvalidArgumentError("--as: expected UID:GID"));
    }
    const Account account{.uid = uid, .gid = gid};
    args.erase(args.begin(), args.begin() + 2);
    if (!args.empty()) {
      // The files each verb is handed: (index, created here).
      std::vector<std::pair<size_t, bool>> files;
      if (args[0] == "get" && args.size() == 5) files = {{2, true}};
      if ((args[0] == "post" || args[0] == "post-json") && args.size() == 6) {
        files = {{2, false}, {3, true}};
      }
      if (args[0] == "extract" && args.size() == 6) files = {{1, false}};
      for (const auto& [index, create] : files) {
        absl::StatusOr<std::string> reached = HandOver(args[index], create, account);
        if (!reached.ok()) return Report(out, reached.status());
        args[index] = *reached;
      }
    }
    if (absl::Status dropped = DropTo(account); !dropped.ok()) return Report(out, dropped);
  }
  if (args.size() == 1 && args[0] == "id") return Report(out, static_cast<uint64_t>(::getuid()));
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
    // Written in place: OUT may be a descriptor handed over (/proc/self/fd/N), not renamable.
    absl::Status written = WriteFileInPlace(args[3], *body, 0600);
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
         "MAX_BYTES TIMEOUT_MS | extract ARCHIVE DEST STRIP MAX_BYTES MAX_ENTRIES | id (each "
         "after --as UID:GID to run as that account)\n";
  return 2;
}

}  // namespace l4d2::agent
