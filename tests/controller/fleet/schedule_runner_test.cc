// Schedules on SQLite and PostgreSQL: what a definition may say (store/schedules.h, through the
// use cases that audit it, and its YAML file), and the runner (fleet/schedule_runner.h) taking
// each occurrence once at its minute in its time zone, across two controllers, after every
// controller was down (run once, or skip), never for a disabled schedule or owner.

#include "controller/fleet/schedule_runner.h"

#include "absl/strings/str_cat.h"
#include "controller/usecases/schedules.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/time_util.h"
#include "l4d2/controller/v1/schedules.pb.h"
#include "rpc/proto_json.h"
#include "tests/controller/store/backend_test.h"

namespace l4d2::controller {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

class ScheduleRunnerTest : public FleetBackendTest {
 protected:
  void SetUp() override {
    FleetBackendTest::SetUp();
    if (IsSkipped()) return;
    alice_ = NewUser("alice");
    admin_ = NewUser("root", Role::kAdmin);
    auto blueprint = stores_->blueprints.Create(alice_, {.name = "versus"});
    ASSERT_TRUE(blueprint.ok()) << blueprint.status();
    blueprint_ = blueprint->id;
    // 2026-12-05 03:59:00 in Berlin (UTC+1).
    At(absl::CivilSecond(2026, 12, 5, 3, 59, 0), Berlin());
  }

  static absl::TimeZone Berlin() {
    absl::TimeZone zone;
    EXPECT_TRUE(absl::LoadTimeZone("Europe/Berlin", &zone));
    return zone;
  }

  void At(absl::CivilSecond when, absl::TimeZone zone) {
    const absl::Time target = absl::FromCivil(when, zone);
    ASSERT_GE(target, clock_.Now());
    clock_.Advance(target - clock_.Now());
  }

  // A nightly restart of alice's blueprint at 04:00 Berlin, with a warning.
  static ScheduleInput Nightly(const std::string& blueprint) {
    v1::ScheduleInput input;
    EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(
                    R"({"name": "nightly", "enabled": true, "definition": {
                          "cron": "0 4 * * *", "timeZone": "Europe/Berlin",
                          "target": {"kind": "blueprint", "id": ")" +
                        blueprint + R"("},
                          "steps": [{"command": "say Restart in 5 minutes"}, {"wait": "300s"},
                                    {"action": "restart"}]}})",
                    &input)
                    .ok());
    return {.name = input.name(), .definition = input.definition(), .enabled = input.enabled()};
  }

  std::vector<Job> Runs() {
    absl::StatusOr<std::vector<Job>> jobs = stores_->jobs.List({.kind = "schedule.run"});
    EXPECT_TRUE(jobs.ok()) << jobs.status();
    return jobs.ok() ? *jobs : std::vector<Job>();
  }

  std::vector<std::string> Audited(const std::string& action) {
    std::vector<std::string> details;
    absl::StatusOr<std::vector<AuditEntry>> entries =
        stores_->audit.List({.action_prefix = action});
    EXPECT_TRUE(entries.ok()) << entries.status();
    for (const AuditEntry& entry : entries.value_or(std::vector<AuditEntry>())) {
      details.push_back(entry.detail);
    }
    return details;
  }

  Actor alice_, admin_;
  std::string blueprint_;
};

TEST_P(ScheduleRunnerTest, ABadDefinitionIsRefusedNamingItsFieldAndChangesNothing) {
  struct Case {
    std::string name;
    std::function<void(ScheduleInput&)> change;
    absl::StatusCode code;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"bad cron", [](ScheduleInput& in) { in.definition.set_cron("0 25 * * *"); },
       absl::StatusCode::kInvalidArgument, "hour"},
      {"bad zone", [](ScheduleInput& in) { in.definition.set_time_zone("Mars/Olympus"); },
       absl::StatusCode::kInvalidArgument, "definition.time_zone"},
      {"cron and every",
       [](ScheduleInput& in) { in.definition.mutable_every()->set_seconds(3600); },
       absl::StatusCode::kInvalidArgument, "exactly one of cron and every"},
      {"every too short",
       [](ScheduleInput& in) {
         in.definition.clear_cron();
         in.definition.clear_time_zone();
         in.definition.mutable_every()->set_seconds(10);
       },
       absl::StatusCode::kInvalidArgument, "definition.every"},
      {"no steps", [](ScheduleInput& in) { in.definition.clear_steps(); },
       absl::StatusCode::kInvalidArgument, "definition.steps"},
      {"two lines",
       [](ScheduleInput& in) { in.definition.mutable_steps(0)->set_command("say a\nquit"); },
       absl::StatusCode::kInvalidArgument, "definition.steps[0].command"},
      {"long wait",
       [](ScheduleInput& in) {
         in.definition.mutable_steps(1)->mutable_wait()->set_seconds(7 * 3600);
       },
       absl::StatusCode::kInvalidArgument, "definition.steps[1].wait"},
      {"unknown action",
       [](ScheduleInput& in) { in.definition.mutable_steps(2)->set_action("explode"); },
       absl::StatusCode::kInvalidArgument, "definition.steps[2].action"},
      {"empty step", [](ScheduleInput& in) { in.definition.add_steps(); },
       absl::StatusCode::kInvalidArgument, "definition.steps[3]"},
      {"install by an operator",
       [](ScheduleInput& in) { in.definition.add_steps()->set_install(true); },
       absl::StatusCode::kPermissionDenied, "for admins"},
      {"someone else's overlay",
       [](ScheduleInput& in) { in.definition.add_steps()->set_sync_overlay("o-nope"); },
       absl::StatusCode::kNotFound, "syncOverlay"},
      {"unknown target kind",
       [](ScheduleInput& in) { in.definition.mutable_target()->set_kind("planet"); },
       absl::StatusCode::kInvalidArgument, "definition.target.kind"},
      {"unknown missed", [](ScheduleInput& in) { in.definition.set_missed("sometimes"); },
       absl::StatusCode::kInvalidArgument, "definition.missed"},
      {"bad name", [](ScheduleInput& in) { in.name = "Nightly Restart"; },
       absl::StatusCode::kInvalidArgument, "name"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    ScheduleInput input = Nightly(blueprint_);
    c.change(input);
    absl::StatusOr<Schedule> created = CreateSchedule(*stores_, alice_, input);
    ASSERT_FALSE(created.ok());
    EXPECT_EQ(created.status().code(), c.code) << created.status();
    EXPECT_THAT(created.status().message(), HasSubstr(c.message));
  }
  // Another operator's blueprint is not a target of hers (it does not exist for her).
  const Actor bob = NewUser("bob");
  absl::StatusOr<Schedule> theirs = CreateSchedule(*stores_, bob, Nightly(blueprint_));
  EXPECT_TRUE(absl::IsNotFound(theirs.status())) << theirs.status();
  EXPECT_EQ(Count("schedules"), 0);
  EXPECT_THAT(Audited("schedule."), IsEmpty());
  // The same with an admin's install step is fine.
  ScheduleInput install = Nightly(blueprint_);
  install.definition.add_steps()->set_install(true);
  EXPECT_TRUE(CreateSchedule(*stores_, admin_, install).ok());
}

TEST_P(ScheduleRunnerTest, AnOccurrenceRunsOnceAtItsMinuteInItsTimeZone) {
  absl::StatusOr<Schedule> schedule = CreateSchedule(*stores_, alice_, Nightly(blueprint_));
  ASSERT_TRUE(schedule.ok()) << schedule.status();
  EXPECT_EQ(schedule->definition.missed(), "run_once");
  EXPECT_EQ(*schedule->next_run_at,
            absl::FromCivil(absl::CivilSecond(2026, 12, 5, 4, 0, 0), Berlin()));
  ScheduleRunner first(*stores_, {.owner = "controller-a"});
  ScheduleRunner second(*stores_, {.owner = "controller-b"});
  clock_.Advance(absl::Seconds(30));  // 03:59:30: not yet
  EXPECT_EQ(first.Round()->queued, 0);
  EXPECT_THAT(Runs(), IsEmpty());
  clock_.Advance(absl::Seconds(35));  // 04:00:05
  absl::StatusOr<ScheduleRound> round = first.Round();
  ASSERT_TRUE(round.ok()) << round.status();
  EXPECT_TRUE(round->leader);
  EXPECT_EQ(round->queued, 1);
  EXPECT_FALSE(second.Round()->leader);  // the lease is the first's
  EXPECT_EQ(first.Round()->queued, 0);   // and the occurrence taken
  std::vector<Job> runs = Runs();
  ASSERT_THAT(runs, SizeIs(1));
  EXPECT_EQ(runs[0].lock_key, "schedule:" + schedule->id);
  EXPECT_EQ(runs[0].created_by, alice_.Name());  // on her behalf: in her job list
  auto params = FromJson<v1::ScheduleRunParams>(runs[0].params);
  ASSERT_TRUE(params.ok());
  EXPECT_EQ(params->schedule_name(), "nightly");
  EXPECT_EQ(params->owner_id(), alice_.user_id);
  EXPECT_FALSE(params->owner_admin());
  EXPECT_EQ(params->definition().steps_size(), 3);
  absl::StatusOr<Schedule> after = stores_->schedules.Get(alice_, schedule->id);
  EXPECT_EQ(after->last_job_id, runs[0].id);
  EXPECT_EQ(*after->next_run_at,
            absl::FromCivil(absl::CivilSecond(2026, 12, 6, 4, 0, 0), Berlin()));
  EXPECT_THAT(Audited("schedule.run"), ElementsAre(HasSubstr(runs[0].id)));
  // The first controller goes away without a word; the second takes its lease when it lapses
  // and the next night's occurrence, once (the first run ended meanwhile: while it still goes,
  // an occurrence is skipped, below).
  ASSERT_TRUE(stores_->jobs.Cancel(runs[0].id).ok());
  clock_.Advance(absl::Hours(24));
  EXPECT_EQ(second.Round()->queued, 1);
  EXPECT_EQ(first.Round()->queued, 0);
  EXPECT_THAT(Runs(), SizeIs(2));
}

TEST_P(ScheduleRunnerTest, TwoControllersRacingForOneOccurrenceQueueOneRun) {
  absl::StatusOr<Schedule> schedule = CreateSchedule(*stores_, alice_, Nightly(blueprint_));
  ASSERT_TRUE(schedule.ok());
  // As if both held the lease at once (one's lease lapsed while it was in its round): the
  // compare-and-set on the occurrence lets one through.
  const absl::Time due = *schedule->next_run_at;
  clock_.Advance(absl::Minutes(2));
  int advanced = 0;
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(db_->Transact([&](soci::session& sql) {
                     advanced += stores_->schedules.Advance(
                         sql, schedule->id, due, due + absl::Hours(24), "j", clock_.Now());
                     return absl::OkStatus();
                   })
                    .ok());
  }
  EXPECT_EQ(advanced, 1);
}

TEST_P(ScheduleRunnerTest, AnOccurrenceMissedWhileEveryControllerWasDownRunsOnceOrIsSkipped) {
  ScheduleInput hourly = Nightly(blueprint_);
  hourly.name = "hourly";
  hourly.definition.clear_cron();
  hourly.definition.clear_time_zone();
  hourly.definition.mutable_every()->set_seconds(3600);
  ScheduleInput skipped = hourly;
  skipped.name = "hourly-skip";
  skipped.definition.set_missed("skip");
  ASSERT_TRUE(CreateSchedule(*stores_, alice_, hourly).ok());
  ASSERT_TRUE(CreateSchedule(*stores_, alice_, skipped).ok());
  // Five hours without a controller.
  clock_.Advance(absl::Hours(5));
  ScheduleRunner runner(*stores_, {.owner = "controller-a"});
  absl::StatusOr<ScheduleRound> round = runner.Round();
  ASSERT_TRUE(round.ok()) << round.status();
  EXPECT_EQ(round->queued, 1);   // "hourly", once for the five it missed
  EXPECT_EQ(round->skipped, 1);  // "hourly-skip"
  EXPECT_EQ(runner.Round()->queued + runner.Round()->skipped, 0);
  EXPECT_THAT(Runs(), SizeIs(1));
  EXPECT_THAT(Audited("schedule.skipped"), ElementsAre(HasSubstr("missed")));
  // Both go on an hour after now, not from their old times.
  absl::StatusOr<std::vector<Schedule>> schedules = stores_->schedules.List(alice_, {});
  ASSERT_TRUE(schedules.ok()) << schedules.status();
  for (const Schedule& schedule : *schedules) {
    EXPECT_EQ(*schedule.next_run_at, clock_.Now() + absl::Hours(1)) << schedule.name;
  }
  // "hourly"'s run has not ended: its next occurrence is skipped rather than stacked.
  clock_.Advance(absl::Minutes(61));
  round = runner.Round();
  EXPECT_EQ(round->queued, 1);
  EXPECT_EQ(round->skipped, 1);
  EXPECT_THAT(Audited("schedule.skipped"), Contains(HasSubstr("previous run is still going")));
  // Taken 1 minute late, an interval keeps its beat: the next is an hour after the last
  // occurrence, not after the round that took it.
  absl::StatusOr<std::vector<Schedule>> after = stores_->schedules.List(alice_, {});
  ASSERT_TRUE(after.ok());
  for (const Schedule& schedule : *after) {
    EXPECT_EQ(*schedule.next_run_at, clock_.Now() - absl::Minutes(1) + absl::Hours(1))
        << schedule.name;
  }
}

TEST_P(ScheduleRunnerTest, ADisabledScheduleOrOwnerDoesNotRunAndARunByHandDoes) {
  ScheduleInput input = Nightly(blueprint_);
  input.enabled = false;
  absl::StatusOr<Schedule> schedule = CreateSchedule(*stores_, alice_, input);
  ASSERT_TRUE(schedule.ok());
  EXPECT_FALSE(schedule->next_run_at.has_value());
  ScheduleRunner runner(*stores_, {.owner = "controller-a"});
  clock_.Advance(absl::Hours(25));
  EXPECT_EQ(runner.Round()->queued, 0);
  // By hand, whenever: the clock's occurrences stay as they are.
  absl::StatusOr<std::string> job = RunScheduleNow(*stores_, alice_, schedule->id);
  ASSERT_TRUE(job.ok()) << job.status();
  EXPECT_THAT(Runs(), SizeIs(1));
  EXPECT_EQ(Runs()[0].created_by, alice_.Name());
  EXPECT_EQ(stores_->schedules.Get(alice_, schedule->id)->last_job_id, *job);
  // Enabled, then its owner disabled: the occurrence passes, audited, without a run.
  input.enabled = true;
  ASSERT_TRUE(UpdateSchedule(*stores_, alice_, schedule->id, input).ok());
  UserStore users(*db_, clock_, PasswordCost::Minimal());
  ASSERT_TRUE(users.Update(alice_.user_id, Role::kOperator, /*disabled=*/true).ok());
  clock_.Advance(absl::Hours(24));
  absl::StatusOr<ScheduleRound> round = runner.Round();
  EXPECT_EQ(round->queued, 0);
  EXPECT_EQ(round->skipped, 1);
  EXPECT_THAT(Audited("schedule.skipped"), ElementsAre(HasSubstr("owner is disabled")));
  EXPECT_THAT(Runs(), SizeIs(1));
}

TEST_P(ScheduleRunnerTest, AYamlFileNamesWhatTheApiNamesByIdAndComesBackTheSame) {
  const std::string file = R"(name: nightly
cron: "30 4 * * 1-5"
time_zone: America/New_York
enabled: true
target: {blueprint: versus}
only_when_empty: true
continue_on_failure: false
missed: skip
steps:
  - command: say Restart in 5 minutes
  - wait: 5m
  - action: restart
)";
  absl::StatusOr<std::pair<Schedule, bool>> applied = ApplyScheduleYaml(*stores_, alice_, file);
  ASSERT_TRUE(applied.ok()) << applied.status();
  EXPECT_TRUE(applied->second);
  EXPECT_EQ(applied->first.definition.target().id(), blueprint_);
  EXPECT_TRUE(applied->first.definition.only_when_empty());
  EXPECT_EQ(*ScheduleToYaml(*stores_, applied->first), file);
  // Applied again with a change: the same schedule, updated.
  std::string changed = file;
  changed.replace(changed.find("5m"), 2, "10m");
  applied = ApplyScheduleYaml(*stores_, alice_, changed);
  ASSERT_TRUE(applied.ok()) << applied.status();
  EXPECT_FALSE(applied->second);
  EXPECT_EQ(applied->first.definition.steps(1).wait().seconds(), 600);
  EXPECT_EQ(Count("schedules"), 1);
  // Unknown names and keys are errors naming them.
  for (const auto& [bad, message] : std::vector<std::pair<std::string, std::string>>{
           {"target: {blueprint: versus}", "target: {blueprint: coop}"},
           {"  - action: restart", "  - action: restart\n  - sync_overlay: u-alice/none"},
           {"missed: skip", "missed: skip\ncolour: red"},
           {"  - wait: 5m", "  - wait: 5m\n    action: stop"}}) {
    std::string text = file;
    text.replace(text.find(bad), bad.size(), message);
    absl::StatusOr<ScheduleInput> parsed = ParseScheduleYaml(*stores_, alice_, text);
    EXPECT_TRUE(absl::IsInvalidArgument(parsed.status())) << message << ": " << parsed.status();
  }
}

L4D2_INSTANTIATE_BACKEND_TEST(ScheduleRunnerTest);

}  // namespace
}  // namespace l4d2::controller
