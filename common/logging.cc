#include "common/logging.h"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/clock.h"

namespace l4d2 {
namespace {

std::atomic<LogSeverity> min_severity{LogSeverity::kInfo};

// syslog(3) priorities: debug 7, info 6, warning 4, error 3.
int SyslogPriority(LogSeverity severity) {
  switch (severity) {
    case LogSeverity::kDebug:
      return 7;
    case LogSeverity::kInfo:
      return 6;
    case LogSeverity::kWarning:
      return 4;
    case LogSeverity::kError:
      return 3;
  }
  return 6;
}

char SeverityLetter(LogSeverity severity) {
  switch (severity) {
    case LogSeverity::kDebug:
      return 'D';
    case LogSeverity::kInfo:
      return 'I';
    case LogSeverity::kWarning:
      return 'W';
    case LogSeverity::kError:
      return 'E';
  }
  return 'I';
}

bool StderrIsJournal() {
  // Computed once: the environment of a daemon does not change under it.
  static const bool journald = std::getenv("JOURNAL_STREAM") != nullptr;
  return journald;
}

absl::string_view Basename(absl::string_view path) {
  size_t slash = path.rfind('/');
  return slash == absl::string_view::npos ? path : path.substr(slash + 1);
}

}  // namespace

void SetMinLogSeverity(LogSeverity severity) { min_severity.store(severity); }
LogSeverity MinLogSeverity() { return min_severity.load(std::memory_order_relaxed); }

bool ParseLogSeverity(absl::string_view text, LogSeverity* severity) {
  std::string lower = absl::AsciiStrToLower(text);
  if (lower == "debug") {
    *severity = LogSeverity::kDebug;
  } else if (lower == "info") {
    *severity = LogSeverity::kInfo;
  } else if (lower == "warning") {
    *severity = LogSeverity::kWarning;
  } else if (lower == "error") {
    *severity = LogSeverity::kError;
  } else {
    return false;
  }
  return true;
}

std::string FormatLogLineForTest(LogSeverity severity, absl::string_view file, int line,
                                 absl::string_view message, bool journald) {
  // A message must stay one line: embedded newlines would split a journal entry.
  std::string flat(message);
  for (char& c : flat) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  if (journald) {
    return absl::StrCat("<", SyslogPriority(severity), ">", Basename(file), ":", line, "] ", flat);
  }
  return absl::StrCat(
      absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", Clock::Real().Now(), absl::UTCTimeZone()), " ",
      std::string(1, SeverityLetter(severity)), " ", Basename(file), ":", line, "] ", flat);
}

namespace internal {

LogMessage::LogMessage(LogSeverity severity, const char* file, int line)
    : severity_(severity), file_(file), line_(line) {}

LogMessage::~LogMessage() {
  std::string text =
      FormatLogLineForTest(severity_, file_, line_, stream_.str(), StderrIsJournal());
  text.push_back('\n');
  // One write per line; a short write to stderr is not worth retrying at the cost of
  // interleaving, so the rest is written in a loop only on EINTR/partial writes.
  const char* data = text.data();
  size_t left = text.size();
  while (left > 0) {
    ssize_t n = ::write(STDERR_FILENO, data, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      return;
    }
    data += n;
    left -= static_cast<size_t>(n);
  }
}

}  // namespace internal
}  // namespace l4d2
