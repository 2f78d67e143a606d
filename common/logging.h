#pragma once

// A small logger for daemons run by systemd. Each message becomes exactly one line on stderr,
// written with a single write(2) so lines from several threads never interleave.
//
// Under journald (the JOURNAL_STREAM environment variable names stderr) a line starts with the
// sd-daemon priority prefix ("<6>"), which journald turns into the entry's PRIORITY and strips;
// elsewhere it starts with a UTC timestamp and the severity letter.
//
//   L4D2_LOG(INFO) << "listening on '" << address << "'";
//
// Never log secrets (passwords, tokens, keys): there is no redaction here by design, callers
// decide what is safe to print. Thread-safe.

#include <sstream>
#include <string>

#include "absl/strings/string_view.h"

namespace l4d2 {

enum class LogSeverity { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };

// Messages below this severity are dropped. Default: kInfo.
void SetMinLogSeverity(LogSeverity severity);
LogSeverity MinLogSeverity();
// Parses "debug", "info", "warning" or "error".
bool ParseLogSeverity(absl::string_view text, LogSeverity* severity);

// Formats one line (without the trailing newline). Exposed for tests.
std::string FormatLogLineForTest(LogSeverity severity, absl::string_view file, int line,
                                 absl::string_view message, bool journald);

namespace internal {

class LogMessage {
 public:
  LogMessage(LogSeverity severity, const char* file, int line);
  LogMessage(const LogMessage&) = delete;
  LogMessage& operator=(const LogMessage&) = delete;
  ~LogMessage();

  std::ostream& stream() { return stream_; }

 private:
  LogSeverity severity_;
  const char* file_;
  int line_;
  std::ostringstream stream_;
};

// Swallows the stream expression when the severity is disabled.
struct LogVoidify {
  void operator&(std::ostream&) {}
};

}  // namespace internal
}  // namespace l4d2

#define L4D2_LOG_SEVERITY_DEBUG ::l4d2::LogSeverity::kDebug
#define L4D2_LOG_SEVERITY_INFO ::l4d2::LogSeverity::kInfo
#define L4D2_LOG_SEVERITY_WARNING ::l4d2::LogSeverity::kWarning
#define L4D2_LOG_SEVERITY_ERROR ::l4d2::LogSeverity::kError

#define L4D2_LOG(severity)                                                                 \
  (L4D2_LOG_SEVERITY_##severity < ::l4d2::MinLogSeverity())                                \
      ? (void)0                                                                            \
      : ::l4d2::internal::LogVoidify() &                                                   \
            ::l4d2::internal::LogMessage(L4D2_LOG_SEVERITY_##severity, __FILE__, __LINE__) \
                .stream()
