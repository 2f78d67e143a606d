// Cron expressions (common/cron/cron.h): parsing and refusals, next occurrences from tables of
// known answers across daylight-saving changes (a skipped time runs at the gap's end, a
// repeated one once), and a property test against a brute-force minute-by-minute search in
// zones with DST in both hemispheres and with half-hour offsets.

#include "common/cron/cron.h"

#include <random>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace l4d2 {
namespace {

using ::testing::HasSubstr;

absl::TimeZone Zone(const std::string& name) {
  absl::TimeZone zone;
  EXPECT_TRUE(absl::LoadTimeZone(name, &zone)) << name << " (tzdata)";
  return zone;
}

absl::Time Utc(const std::string& rfc3339) {
  absl::Time time;
  std::string error;
  EXPECT_TRUE(absl::ParseTime(absl::RFC3339_full, rfc3339, &time, &error)) << error;
  return time;
}

std::string Next(const std::string& expression, const std::string& zone, const std::string& after) {
  absl::StatusOr<CronSchedule> schedule = CronSchedule::Parse(expression);
  EXPECT_TRUE(schedule.ok()) << schedule.status();
  if (!schedule.ok()) return "";
  std::optional<absl::Time> next = schedule->Next(Utc(after), Zone(zone));
  return next.has_value() ? absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", *next, absl::UTCTimeZone())
                          : "never";
}

TEST(CronTest, ParsesTheClassicFormAndRefusesWhatIsNot) {
  for (const char* good : {"* * * * *", "0 3 * * *", "*/5 8-18 * * mon-fri", "0,30 * 1,15 * *",
                           "15 4 * jan-mar,oct SUN", "0 0 * * 7", "5/15 * * * *", "@daily",
                           "@Hourly", "  0  12  *  *  1  "}) {
    EXPECT_TRUE(CronSchedule::Parse(good).ok())
        << good << ": " << CronSchedule::Parse(good).status();
  }
  EXPECT_EQ(CronSchedule::Parse("  0  12  *  *  1  ")->text(), "0 12 * * 1");
  struct Bad {
    const char* text;
    const char* says;
  };
  for (const Bad& bad : std::initializer_list<Bad>{{"61 * * * *", "minute"},
                                                   {"* 24 * * *", "hour"},
                                                   {"* * 0 * *", "day-of-month"},
                                                   {"* * * 13 *", "month"},
                                                   {"* * * * 8", "day-of-week"},
                                                   {"* * * *", "five fields"},
                                                   {"* * * * * *", "five fields"},
                                                   {"5-1 * * * *", "low to high"},
                                                   {"*/0 * * * *", "step"},
                                                   {"a * * * *", "not a value"},
                                                   {"1,,2 * * * *", "empty item"},
                                                   {"@reboot", "@daily"},
                                                   {"", "five fields"}}) {
    absl::StatusOr<CronSchedule> parsed = CronSchedule::Parse(bad.text);
    ASSERT_FALSE(parsed.ok()) << bad.text;
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(parsed.status().message(), HasSubstr(bad.says)) << bad.text;
  }
  EXPECT_FALSE(CronSchedule::Parse(std::string(300, '*')).ok());
}

TEST(CronTest, NextOccurrencesMatchKnownAnswers) {
  struct Case {
    const char* expression;
    const char* zone;
    const char* after;
    const char* next;
  };
  for (const Case& c : std::initializer_list<Case>{
           {"0 3 * * *", "UTC", "2026-01-01T00:00:00Z", "2026-01-01T03:00:00Z"},
           {"0 3 * * *", "UTC", "2026-01-01T03:00:00Z", "2026-01-02T03:00:00Z"},  // strictly after
           {"*/5 * * * *", "UTC", "2026-01-01T00:02:59Z", "2026-01-01T00:05:00Z"},
           {"@weekly", "UTC", "2026-01-01T00:00:00Z", "2026-01-04T00:00:00Z"},  // a Sunday
           {"0 0 29 2 *", "UTC", "2026-01-01T00:00:00Z", "2028-02-29T00:00:00Z"},
           {"0 0 30 2 *", "UTC", "2026-01-01T00:00:00Z", "never"},
           // Vixie: day 13 or a Friday (2026-01-02 is a Friday).
           {"0 12 13 * 5", "UTC", "2026-01-01T00:00:00Z", "2026-01-02T12:00:00Z"},
           // Only the weekday restricted: Fridays only.
           {"0 12 * * fri", "UTC", "2026-01-03T00:00:00Z", "2026-01-09T12:00:00Z"},
           {"0 9 * * mon-fri", "Europe/Berlin", "2026-01-02T09:00:00Z", "2026-01-05T08:00:00Z"},
           // New York, spring forward on 2026-03-08 (02:00 EST -> 03:00 EDT): 02:30 is skipped
           // and runs at the gap's end; the next day at 02:30 EDT.
           {"30 2 * * *", "America/New_York", "2026-03-07T17:00:00Z", "2026-03-08T07:00:00Z"},
           {"30 2 * * *", "America/New_York", "2026-03-08T07:00:00Z", "2026-03-09T06:30:00Z"},
           // Every quarter of the skipped hour: once, at the gap's end.
           {"*/15 2 * * *", "America/New_York", "2026-03-08T05:00:00Z", "2026-03-08T07:00:00Z"},
           {"*/15 2 * * *", "America/New_York", "2026-03-08T07:00:00Z", "2026-03-09T06:00:00Z"},
           // Fall back on 2026-11-01 (02:00 EDT -> 01:00 EST): 01:30 runs once, the first time.
           {"30 1 * * *", "America/New_York", "2026-10-31T16:00:00Z", "2026-11-01T05:30:00Z"},
           {"30 1 * * *", "America/New_York", "2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z"},
           // An hourly job through the repeated hour: 01:00 EDT, 01:00 EST is the same local
           // time (not again), then 02:00 EST.
           {"0 * * * *", "America/New_York", "2026-11-01T05:00:00Z", "2026-11-01T07:00:00Z"},
           // Berlin falls back on 2026-10-25 (03:00 CEST -> 02:00 CET).
           {"30 2 * * *", "Europe/Berlin", "2026-10-24T12:00:00Z", "2026-10-25T00:30:00Z"},
           {"30 2 * * *", "Europe/Berlin", "2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z"},
           // Sydney springs forward on 2026-10-04 (02:00 AEST -> 03:00 AEDT).
           {"30 2 * * *", "Australia/Sydney", "2026-10-03T00:00:00Z", "2026-10-03T16:00:00Z"},
           // Kolkata: +05:30, no DST.
           {"0 9 * * *", "Asia/Kolkata", "2026-06-01T00:00:00Z", "2026-06-01T03:30:00Z"},
       }) {
    EXPECT_EQ(Next(c.expression, c.zone, c.after), c.next)
        << c.expression << " in " << c.zone << " after " << c.after;
  }
}

// The reference: every minute from `after`, in absolute time. An instant runs when its wall
// clock matches and it is that wall clock's first instant (a repeated hour runs once), or when
// a spring-forward gap just skipped a matching wall clock.
std::optional<absl::Time> BruteForceNext(const CronSchedule& schedule, absl::Time after,
                                         absl::TimeZone zone, absl::Duration horizon) {
  absl::Time t = absl::FromUnixSeconds(absl::ToUnixSeconds(after) / 60 * 60) + absl::Minutes(1);
  for (; t <= after + horizon; t += absl::Minutes(1)) {
    const absl::CivilMinute local(zone.At(t).cs);
    const absl::CivilMinute before(zone.At(t - absl::Minutes(1)).cs);
    for (absl::CivilMinute skipped = before + 1; skipped < local; ++skipped) {
      if (schedule.Matches(skipped)) return t;
    }
    if (!schedule.Matches(local)) continue;
    if (zone.At(absl::CivilSecond(local)).pre == t) return t;
  }
  return std::nullopt;
}

std::string RandomField(std::mt19937& random, int min, int max) {
  auto pick = [&](int low, int high) {
    return std::uniform_int_distribution<int>(low, high)(random);
  };
  switch (pick(0, 5)) {
    case 0:
      return "*";
    case 1:
      return absl::StrCat("*/", pick(1, std::max(1, (max - min) / 2)));
    case 2: {
      const int low = pick(min, max);
      return absl::StrCat(low, "-", pick(low, max));
    }
    case 3: {
      const int low = pick(min, max);
      return absl::StrCat(low, "-", pick(low, max), "/", pick(1, 4));
    }
    case 4:
      return absl::StrCat(pick(min, max), ",", pick(min, max), ",", pick(min, max));
    default:
      return absl::StrCat(pick(min, max));
  }
}

TEST(CronTest, NextAgreesWithAMinuteByMinuteSearchAcrossZonesAndDaylightSaving) {
  std::mt19937 random(20261204);
  const std::vector<std::string> zones = {
      "UTC",          "America/New_York",    "Europe/Berlin",   "Australia/Sydney",
      "Asia/Kolkata", "Australia/Lord_Howe", "America/Santiago"};
  // Around the 2026 and 2027 changes, and anywhere.
  const std::vector<absl::Time> around = {Utc("2026-03-08T05:00:00Z"), Utc("2026-11-01T04:30:00Z"),
                                          Utc("2026-03-29T00:00:00Z"), Utc("2026-10-25T00:00:00Z"),
                                          Utc("2026-10-03T15:00:00Z"), Utc("2026-04-04T15:00:00Z"),
                                          Utc("2027-03-14T06:00:00Z")};
  const absl::Duration horizon = absl::Hours(24 * 9);
  int compared = 0;
  for (int i = 0; i < 300; ++i) {
    // Day fields stay dense so that most expressions match within the horizon.
    const std::string expression =
        absl::StrJoin({RandomField(random, 0, 59), RandomField(random, 0, 23),
                       i % 4 == 0 ? RandomField(random, 1, 31) : std::string("*"), std::string("*"),
                       i % 3 == 0 ? RandomField(random, 0, 6) : std::string("*")},
                      " ");
    absl::StatusOr<CronSchedule> schedule = CronSchedule::Parse(expression);
    ASSERT_TRUE(schedule.ok()) << expression << ": " << schedule.status();
    const absl::TimeZone zone = Zone(zones[i % zones.size()]);
    absl::Time after = around[i % around.size()] +
                       absl::Seconds(std::uniform_int_distribution<int>(-86400, 86400)(random));
    // A chain of occurrences: each one's next too, as a schedule's runs follow each other.
    for (int step = 0; step < 4; ++step) {
      const std::optional<absl::Time> expected = BruteForceNext(*schedule, after, zone, horizon);
      const std::optional<absl::Time> got = schedule->Next(after, zone);
      if (expected.has_value()) {
        ASSERT_TRUE(got.has_value()) << expression << " in " << zone.name() << " after " << after;
        ASSERT_EQ(*got, *expected) << expression << " in " << zone.name() << " after " << after;
        ++compared;
        after = *got;
      } else {
        ASSERT_TRUE(!got.has_value() || *got > after + horizon)
            << expression << " in " << zone.name() << " after " << after << ": " << *got;
        break;
      }
    }
  }
  EXPECT_GT(compared, 500);
}

}  // namespace
}  // namespace l4d2
