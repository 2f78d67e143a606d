// l4d2ctl schedules ...: what the controller does by itself at given times, kept as YAML by
// operators (docs/schedules.md). The files are read and written by the controller
// (/api/v1/schedules/yaml), which names targets and overlays in them.

#include <algorithm>
#include <ostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/file_util.h"
#include "ctl/command_table.h"
#include "ctl/controller_commands.h"
#include "ctl/controller_support.h"
#include "ctl/exit_codes.h"
#include "l4d2/controller/v1/schedules.pb.h"

namespace l4d2::ctl {
namespace {

// One's own schedule of that name first (admins see everyone's), or the schedule of that id.
absl::StatusOr<v1::Schedule> FindSchedule(const CommandContext& context, const std::string& name) {
  absl::StatusOr<std::vector<v1::Schedule>> schedules =
      All(context, "/api/v1/schedules?q=" + name, &v1::ListSchedulesResponse::schedules);
  if (!schedules.ok()) return schedules.status();
  std::vector<v1::Schedule> named;
  for (const v1::Schedule& schedule : *schedules) {
    if (schedule.name() == name) named.push_back(schedule);
  }
  if (!named.empty()) return named.front();
  absl::StatusOr<v1::Schedule> by_id = Get<v1::Schedule>(context, "/api/v1/schedules/" + name);
  if (absl::IsNotFound(by_id.status())) {
    return absl::NotFoundError(absl::StrCat("no schedule '", name, "'"));
  }
  return by_id;
}

std::string When(const v1::ScheduleDefinition& definition) {
  if (definition.has_every()) {
    return absl::StrCat("every ",
                        absl::FormatDuration(absl::Seconds(definition.every().seconds())));
  }
  return absl::StrCat(definition.cron(), " ", definition.time_zone());
}

// "blueprint versus", "server s1", "host h1" (the id when it cannot be read), or "fleet".
std::string Target(const CommandContext& context, const v1::ScheduleTarget& target) {
  if (target.kind() == "fleet") return "the fleet (every server the owner sees)";
  std::string name = target.id();
  const std::string path = absl::StrCat("/api/v1/", target.kind(), "s/", target.id());
  if (target.kind() == "blueprint") {
    if (auto found = Get<v1::Blueprint>(context, path); found.ok()) name = found->name();
  } else if (target.kind() == "server") {
    if (auto found = Get<v1::Server>(context, path); found.ok()) name = found->name();
  } else if (target.kind() == "host") {
    if (auto found = Get<v1::Host>(context, path); found.ok()) name = found->name();
  }
  return absl::StrCat(target.kind(), " ", name);
}

}  // namespace

int RunSchedulesList(const CommandContext& context, const Invocation&) {
  absl::StatusOr<std::vector<v1::Schedule>> schedules =
      All(context, "/api/v1/schedules", &v1::ListSchedulesResponse::schedules);
  if (!schedules.ok()) return Report(context, schedules.status());
  if (context.json) {
    v1::ListSchedulesResponse all;
    for (const v1::Schedule& schedule : *schedules) *all.add_schedules() = schedule;
    *context.out << ToJson(all) << "\n";
    return kExitOk;
  }
  *context.out << absl::StrFormat("%-24s %-28s %-6s %-5s %-19s %s\n", "NAME", "WHEN", "STEPS", "ON",
                                  "NEXT RUN", "LAST JOB");
  for (const v1::Schedule& schedule : *schedules) {
    *context.out << absl::StrFormat("%-24s %-28s %-6d %-5s %-19s %s\n", schedule.name(),
                                    When(schedule.definition()), schedule.definition().steps_size(),
                                    schedule.enabled() ? "yes" : "no", Time(schedule.next_run_at()),
                                    schedule.last_job_id().empty() ? "-" : schedule.last_job_id());
  }
  return kExitOk;
}

int RunSchedulesShow(const CommandContext& context, const Invocation& invocation) {
  absl::StatusOr<v1::Schedule> schedule = FindSchedule(context, invocation.args[0]);
  if (!schedule.ok()) return Report(context, schedule.status());
  absl::StatusOr<v1::ScheduleOccurrences> next = Get<v1::ScheduleOccurrences>(
      context, "/api/v1/schedules/" + schedule->id() + "/next?count=5");
  if (!next.ok()) return Report(context, next.status());
  if (context.json) {
    *context.out << ToJson(*schedule) << "\n";
    return kExitOk;
  }
  const v1::ScheduleDefinition& definition = schedule->definition();
  *context.out << absl::StrFormat("%-13s %s\n", "name", schedule->name())
               << absl::StrFormat("%-13s %s\n", "id", schedule->id())
               << absl::StrFormat("%-13s %s\n", "when", When(definition))
               << absl::StrFormat("%-13s %s\n", "target", Target(context, definition.target()))
               << absl::StrFormat("%-13s %s\n", "enabled", schedule->enabled() ? "yes" : "no")
               << absl::StrFormat("%-13s %s%s%s\n", "options",
                                  definition.only_when_empty() ? "only when empty, " : "",
                                  definition.continue_on_failure() ? "continue on failure, " : "",
                                  "missed: " + definition.missed())
               << absl::StrFormat("%-13s %s\n", "last run", Time(schedule->last_run_at()))
               << absl::StrFormat("%-13s %s\n", "last job",
                                  schedule->last_job_id().empty() ? "-" : schedule->last_job_id());
  *context.out << "steps\n";
  for (int i = 0; i < definition.steps_size(); ++i) {
    const v1::ScheduleStep& step = definition.steps(i);
    std::string text;
    if (step.has_command()) text = "command " + step.command();
    if (step.has_wait()) {
      text = "wait " + absl::FormatDuration(absl::Seconds(step.wait().seconds()));
    }
    if (step.has_action()) text = step.action();
    if (step.has_install()) text = "install the game";
    if (step.has_sync_overlay()) text = "sync overlay " + step.sync_overlay();
    *context.out << absl::StrFormat("  %2d. %s\n", i + 1, text);
  }
  *context.out << "next runs\n";
  for (const google::protobuf::Timestamp& at : next->at()) *context.out << "  " << Time(at) << "\n";
  return kExitOk;
}

int RunSchedulesApply(const CommandContext& context, const Invocation& invocation) {
  const std::string& file = context.options.file;
  if (file.empty()) return UsageError(context, invocation, "-f FILE is required");
  absl::StatusOr<std::string> text = ReadFileToString(file, 256 * 1024 + 1);
  if (!text.ok()) return Report(context, text.status());
  v1::ScheduleYaml body;
  body.set_yaml(*text);
  absl::StatusOr<v1::Schedule> applied =
      Send<v1::Schedule>(context, "POST", "/api/v1/schedules/yaml", ToJson(body));
  if (!applied.ok()) return Report(context, applied.status());
  *context.out << (context.json ? ToJson(*applied)
                                : absl::StrCat("schedule ", applied->name(), " applied; next run ",
                                               Time(applied->next_run_at())))
               << "\n";
  return kExitOk;
}

int RunSchedulesExport(const CommandContext& context, const Invocation& invocation) {
  absl::StatusOr<v1::Schedule> schedule = FindSchedule(context, invocation.args[0]);
  if (!schedule.ok()) return Report(context, schedule.status());
  absl::StatusOr<v1::ScheduleYaml> file =
      Get<v1::ScheduleYaml>(context, "/api/v1/schedules/" + schedule->id() + "/yaml");
  if (!file.ok()) return Report(context, file.status());
  *context.out << (context.json ? ToJson(*file) + "\n" : file->yaml());
  return kExitOk;
}

int RunSchedulesRun(const CommandContext& context, const Invocation& invocation) {
  absl::StatusOr<v1::Schedule> schedule = FindSchedule(context, invocation.args[0]);
  if (!schedule.ok()) return Report(context, schedule.status());
  absl::StatusOr<v1::ScheduleRunQueued> queued =
      Send<v1::ScheduleRunQueued>(context, "POST", "/api/v1/schedules/" + schedule->id() + "/run");
  if (!queued.ok()) return Report(context, queued.status());
  return Queued(context, "schedule " + schedule->name() + " run", queued->job_id());
}

// enable / disable: the schedule as it is, switched.
int RunSchedulesSwitch(const CommandContext& context, const Invocation& invocation) {
  absl::StatusOr<v1::Schedule> schedule = FindSchedule(context, invocation.args[0]);
  if (!schedule.ok()) return Report(context, schedule.status());
  v1::ScheduleInput input;
  input.set_name(schedule->name());
  *input.mutable_definition() = schedule->definition();
  input.set_enabled(invocation.verb == "enable");
  absl::StatusOr<v1::Schedule> changed =
      Send<v1::Schedule>(context, "PUT", "/api/v1/schedules/" + schedule->id(), ToJson(input));
  if (!changed.ok()) return Report(context, changed.status());
  *context.out << (context.json ? ToJson(*changed)
                                : absl::StrCat("schedule ", changed->name(),
                                               changed->enabled() ? " enabled; next run " +
                                                                        Time(changed->next_run_at())
                                                                  : " disabled"))
               << "\n";
  return kExitOk;
}

int RunSchedulesDelete(const CommandContext& context, const Invocation& invocation) {
  const std::string& name = invocation.args[0];
  absl::StatusOr<v1::Schedule> schedule = FindSchedule(context, name);
  if (!schedule.ok()) return Report(context, schedule.status());
  return Delete(context, "/api/v1/schedules/" + schedule->id(), "schedule " + name);
}

}  // namespace l4d2::ctl
