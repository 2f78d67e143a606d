#pragma once

// Cron expressions in a time zone, for schedules (issue Automation). No Debian package parses
// them for C++; this is the classic five-field form with Vixie cron's rules, computed with
// Abseil's civil time and the system's tz database.
//
//   minute hour day-of-month month day-of-week
//   *  a,b  a-b  */n  a-b/n  month names jan-dec, day names sun-sat (0 and 7 are Sunday)
//   @yearly (@annually) @monthly @weekly @daily (@midnight) @hourly
// When both day-of-month and day-of-week are restricted (neither starts with *), a day
// matching either runs (Vixie cron); otherwise both must match.
//
// Daylight saving time, as cronie does it and so that an occurrence never runs twice: a local
// time that a spring-forward gap skips runs at the end of the gap (02:30 on the night clocks go
// from 02:00 to 03:00 runs at 03:00); a local time that the fall-back hour repeats runs once, at
// its first occurrence.

#include <bitset>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace l4d2 {

class CronSchedule {
 public:
  // INVALID_ARGUMENT naming the field and what it expected.
  static absl::StatusOr<CronSchedule> Parse(absl::string_view text);

  // The first occurrence strictly after `after`, in `zone`; nullopt when there is none within
  // 28 years (an expression such as "0 0 30 2 *" never matches).
  std::optional<absl::Time> Next(absl::Time after, absl::TimeZone zone) const;
  // Whether the civil minute matches the expression (the wall clock, whatever the zone).
  bool Matches(absl::CivilMinute minute) const;

  // The expression as given (normalized spaces).
  const std::string& text() const { return text_; }

 private:
  CronSchedule() = default;
  bool DayMatches(absl::CivilDay day) const;

  std::string text_;
  std::bitset<60> minutes_;
  std::bitset<24> hours_;
  std::bitset<32> days_;      // 1-31
  std::bitset<13> months_;    // 1-12
  std::bitset<7> weekdays_;   // 0 = Sunday
  bool any_day_ = false;      // day-of-month started with *
  bool any_weekday_ = false;  // day-of-week started with *
};

}  // namespace l4d2
