#include "common/cron/cron.h"

#include <array>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace l4d2 {
namespace {

constexpr std::array<absl::string_view, 12> kMonthNames = {
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"};
constexpr std::array<absl::string_view, 7> kDayNames = {"sun", "mon", "tue", "wed",
                                                        "thu", "fri", "sat"};

struct FieldSpec {
  const char* name;
  int min;
  int max;
  // Names for min, min + 1, ... (months from 1, days from 0); empty when none.
  const absl::string_view* names = nullptr;
  size_t name_count = 0;
  bool seven_is_sunday = false;  // day-of-week: 7 accepted as Sunday (0)
};

// One value: a number, or a name of the field.
std::optional<int> Value(absl::string_view text, const FieldSpec& field) {
  int number = 0;
  if (absl::SimpleAtoi(text, &number)) return number;
  const std::string lower = absl::AsciiStrToLower(text);
  for (size_t i = 0; i < field.name_count; ++i) {
    if (lower == field.names[i]) return field.min + static_cast<int>(i);
  }
  return std::nullopt;
}

// A field's comma-separated items into `bits` (bit i: value i).
template <size_t N>
absl::Status ParseField(absl::string_view text, const FieldSpec& field, std::bitset<N>& bits) {
  auto fail = [&](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat("cron ", field.name, " '", text, "': ", why));
  };
  // Day of week 7 is Sunday: accept it and fold it onto 0.
  const int max = field.max;
  const int accepted_max = field.seven_is_sunday ? 7 : max;
  for (absl::string_view item : absl::StrSplit(text, ',')) {
    if (item.empty()) return fail("an empty item");
    absl::string_view range = item;
    int step = 1;
    if (size_t slash = item.find('/'); slash != absl::string_view::npos) {
      range = item.substr(0, slash);
      if (!absl::SimpleAtoi(item.substr(slash + 1), &step) || step < 1 || step > accepted_max) {
        return fail(absl::StrCat("a step from 1 to ", accepted_max));
      }
    }
    int first = field.min, last = max;
    if (range != "*") {
      const size_t dash = range.find('-');
      std::optional<int> low = Value(range.substr(0, dash), field);
      if (!low.has_value()) return fail(absl::StrCat("'", range, "' is not a value"));
      first = *low;
      last = first;
      if (dash != absl::string_view::npos) {
        std::optional<int> high = Value(range.substr(dash + 1), field);
        if (!high.has_value()) return fail(absl::StrCat("'", range, "' is not a range"));
        last = *high;
      } else if (step != 1 || item.find('/') != absl::string_view::npos) {
        last = accepted_max;  // "a/n": from a to the end, every n
      }
      if (first < field.min || last > accepted_max || first > last) {
        return fail(
            absl::StrCat("values from ", field.min, " to ", accepted_max, ", a range low to high"));
      }
    }
    for (int value = first; value <= last; value += step) {
      bits.set(static_cast<size_t>(field.seven_is_sunday && value == 7 ? 0 : value));
    }
  }
  return absl::OkStatus();
}

absl::string_view Macro(absl::string_view text) {
  if (text == "@yearly" || text == "@annually") return "0 0 1 1 *";
  if (text == "@monthly") return "0 0 1 * *";
  if (text == "@weekly") return "0 0 * * 0";
  if (text == "@daily" || text == "@midnight") return "0 0 * * *";
  if (text == "@hourly") return "0 * * * *";
  return "";
}

int CronWeekday(absl::CivilDay day) {
  // absl: Monday is 0 ... Sunday is 6; cron: Sunday is 0.
  return (static_cast<int>(absl::GetWeekday(day)) + 1) % 7;
}

}  // namespace

absl::StatusOr<CronSchedule> CronSchedule::Parse(absl::string_view text) {
  const std::string trimmed(absl::StripAsciiWhitespace(text));
  if (trimmed.size() > 200) return absl::InvalidArgumentError("cron: at most 200 characters");
  std::string expanded(trimmed);
  if (!trimmed.empty() && trimmed[0] == '@') {
    expanded = std::string(Macro(absl::AsciiStrToLower(trimmed)));
    if (expanded.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "cron '", trimmed, "': expected @yearly, @monthly, @weekly, @daily or @hourly"));
    }
  }
  std::vector<absl::string_view> fields =
      absl::StrSplit(expanded, absl::ByAnyChar(" \t"), absl::SkipEmpty());
  if (fields.size() != 5) {
    return absl::InvalidArgumentError(absl::StrCat(
        "cron '", trimmed,
        "': expected five fields (minute hour day-of-month month day-of-week) or a macro"));
  }
  CronSchedule schedule;
  schedule.text_ = trimmed[0] == '@' ? absl::AsciiStrToLower(trimmed) : absl::StrJoin(fields, " ");
  absl::Status status = ParseField(fields[0], {"minute", 0, 59}, schedule.minutes_);
  if (status.ok()) status = ParseField(fields[1], {"hour", 0, 23}, schedule.hours_);
  if (status.ok()) status = ParseField(fields[2], {"day-of-month", 1, 31}, schedule.days_);
  if (status.ok()) {
    status = ParseField(fields[3], {"month", 1, 12, kMonthNames.data(), kMonthNames.size()},
                        schedule.months_);
  }
  if (status.ok()) {
    status = ParseField(fields[4], {"day-of-week", 0, 6, kDayNames.data(), kDayNames.size(), true},
                        schedule.weekdays_);
  }
  if (!status.ok()) return status;
  schedule.any_day_ = fields[2][0] == '*';
  schedule.any_weekday_ = fields[4][0] == '*';
  return schedule;
}

bool CronSchedule::DayMatches(absl::CivilDay day) const {
  if (!months_.test(static_cast<size_t>(day.month()))) return false;
  const bool by_day = days_.test(static_cast<size_t>(day.day()));
  const bool by_weekday = weekdays_.test(static_cast<size_t>(CronWeekday(day)));
  // Vixie cron: both restricted, either runs; one restricted, that one decides.
  if (!any_day_ && !any_weekday_) return by_day || by_weekday;
  return by_day && by_weekday;
}

bool CronSchedule::Matches(absl::CivilMinute minute) const {
  return DayMatches(absl::CivilDay(minute)) && hours_.test(static_cast<size_t>(minute.hour())) &&
         minutes_.test(static_cast<size_t>(minute.minute()));
}

std::optional<absl::Time> CronSchedule::Next(absl::Time after, absl::TimeZone zone) const {
  const absl::CivilMinute start = absl::CivilMinute(zone.At(after).cs) + 1;
  const absl::CivilDay first_day(start);
  // 28 years: the calendar (weekdays and leap days together) repeats.
  for (absl::CivilDay day = first_day; day - first_day <= 28 * 366; ++day) {
    if (!DayMatches(day)) continue;
    for (int hour = day == first_day ? start.hour() : 0; hour < 24; ++hour) {
      if (!hours_.test(static_cast<size_t>(hour))) continue;
      for (int minute = 0; minute < 60; ++minute) {
        if (!minutes_.test(static_cast<size_t>(minute))) continue;
        const absl::CivilMinute local(day.year(), day.month(), day.day(), hour, minute);
        if (local < start) continue;
        const absl::TimeZone::TimeInfo info = zone.At(absl::CivilSecond(local));
        // Skipped by a spring-forward gap: at its end. Repeated by a fall-back: the first.
        const absl::Time at =
            info.kind == absl::TimeZone::TimeInfo::SKIPPED ? info.trans : info.pre;
        if (at > after) return at;
      }
    }
  }
  return std::nullopt;
}

}  // namespace l4d2
