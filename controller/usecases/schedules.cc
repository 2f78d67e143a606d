#include "controller/usecases/schedules.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "common/utf8.h"
#include "common/yaml_document.h"
#include "controller/jobs/schedule_run.h"
#include "google/protobuf/util/time_util.h"
#include "soci/soci.h"

namespace l4d2::controller {
namespace {

using google::protobuf::util::TimeUtil;

absl::Status NoSuch(const std::string& key, const std::string& what, const std::string& name) {
  return absl::InvalidArgumentError(
      absl::StrCat("yaml: ", key, ": no ", what, " '", Utf8Excerpt(name, 128), "'"));
}

// The id of what `kind` names `name` (as the actor sees it; its own first when an admin sees
// several of that name).
absl::StatusOr<std::string> IdOf(FleetStores& stores, const Actor& actor, const std::string& kind,
                                 const std::string& name, const std::string& key) {
  const PageQuery page{.name_prefix = name, .limit = 1000};
  std::vector<std::pair<std::string, std::string>> found;  // (owner, id)
  if (kind == "server") {
    L4D2_ASSIGN_OR_RETURN(std::vector<Server> servers,
                          stores.servers.List(actor, {.name_prefix = name, .limit = 1000}));
    for (const Server& server : servers) {
      if (server.name == name) found.emplace_back(server.owner_id, server.id);
    }
  } else if (kind == "blueprint") {
    L4D2_ASSIGN_OR_RETURN(std::vector<Blueprint> blueprints, stores.blueprints.List(actor, page));
    for (const Blueprint& blueprint : blueprints) {
      if (blueprint.name == name) found.emplace_back(blueprint.owner_id, blueprint.id);
    }
  } else if (kind == "host") {
    L4D2_ASSIGN_OR_RETURN(std::vector<Host> hosts, stores.hosts.List(page, ""));
    for (const Host& host : hosts) {
      if (host.name == name) found.emplace_back("", host.id);
    }
  } else if (kind == "overlay") {
    L4D2_ASSIGN_OR_RETURN(std::vector<Overlay> overlays, stores.overlays.List(actor, page));
    for (const Overlay& overlay : overlays) {
      if (overlay.ref == name) found.emplace_back(overlay.owner_id, overlay.id);
    }
  }
  if (found.empty()) return NoSuch(key, kind, name);
  auto own = std::find_if(found.begin(), found.end(),
                          [&](const auto& item) { return item.first == actor.user_id; });
  return own != found.end() ? own->second : found.front().second;
}

// The name of what `kind` `id` is; the id itself when it is gone.
std::string NameOf(FleetStores& stores, const std::string& kind, const std::string& id) {
  const Actor system = Actor::System();
  if (kind == "server") {
    if (absl::StatusOr<Server> server = stores.servers.Get(system, id); server.ok()) {
      return server->name;
    }
  } else if (kind == "blueprint") {
    if (absl::StatusOr<Blueprint> blueprint = stores.blueprints.Get(system, id); blueprint.ok()) {
      return blueprint->name;
    }
  } else if (kind == "host") {
    if (absl::StatusOr<Host> host = stores.hosts.Get(id); host.ok()) return host->name;
  } else if (kind == "overlay") {
    if (absl::StatusOr<Overlay> overlay = stores.overlays.Get(system, id); overlay.ok()) {
      return overlay->ref;
    }
  }
  return id;
}

google::protobuf::Duration ToProto(absl::Duration duration) {
  return TimeUtil::NanosecondsToDuration(absl::ToInt64Nanoseconds(duration));
}

std::string Text(const google::protobuf::Duration& duration) {
  return absl::FormatDuration(absl::Nanoseconds(TimeUtil::DurationToNanoseconds(duration)));
}

}  // namespace

absl::StatusOr<Schedule> CreateSchedule(FleetStores& stores, const Actor& actor,
                                        const ScheduleInput& input) {
  L4D2_ASSIGN_OR_RETURN(Schedule schedule, stores.schedules.Create(actor, input));
  (void)stores.audit.Append(actor.Name(), "schedule.create", schedule.id,
                            AuditDetail({{"name", schedule.name}}), schedule.owner_id);
  return schedule;
}

absl::StatusOr<Schedule> UpdateSchedule(FleetStores& stores, const Actor& actor,
                                        const std::string& id, const ScheduleInput& input) {
  L4D2_ASSIGN_OR_RETURN(Schedule schedule, stores.schedules.Update(actor, id, input));
  (void)stores.audit.Append(
      actor.Name(), "schedule.update", schedule.id,
      AuditDetail({{"name", schedule.name}, {"enabled", schedule.enabled ? "yes" : "no"}}),
      schedule.owner_id);
  return schedule;
}

absl::Status DeleteSchedule(FleetStores& stores, const Actor& actor, const std::string& id) {
  L4D2_ASSIGN_OR_RETURN(Schedule schedule, stores.schedules.Get(actor, id));
  L4D2_RETURN_IF_ERROR(stores.schedules.Delete(actor, schedule.id));
  (void)stores.audit.Append(actor.Name(), "schedule.delete", schedule.id,
                            AuditDetail({{"name", schedule.name}}), schedule.owner_id);
  return absl::OkStatus();
}

absl::StatusOr<std::string> RunScheduleNow(FleetStores& stores, const Actor& actor,
                                           const std::string& id) {
  L4D2_ASSIGN_OR_RETURN(Schedule schedule, stores.schedules.Get(actor, id));
  std::string role;
  const absl::Time now = stores.clock.Now();
  std::string job_id;
  L4D2_RETURN_IF_ERROR(stores.db.Transact([&](soci::session& sql) -> absl::Status {
    sql << "SELECT role FROM users WHERE id = :id", soci::use(schedule.owner_id), soci::into(role);
    v1::ScheduleRunParams params;
    params.set_schedule_id(schedule.id);
    params.set_schedule_name(schedule.name);
    params.set_owner_id(schedule.owner_id);
    params.set_owner_admin(role == "admin");
    *params.mutable_occurrence() = TimeUtil::NanosecondsToTimestamp(absl::ToUnixNanos(now));
    *params.mutable_definition() = schedule.definition;
    L4D2_ASSIGN_OR_RETURN(std::vector<std::string> ids,
                          stores.jobs.Enqueue(sql, {ScheduleRunJob(params, actor.Name())}));
    job_id = ids.front();
    stores.schedules.RecordRun(sql, schedule.id, job_id, now);
    stores.audit.Append(
        sql, {{.actor = actor.Name(),
               .action = "schedule.run",
               .target = schedule.id,
               .detail = AuditDetail({{"name", schedule.name}, {"by", "hand"}, {"job", job_id}}),
               .owner = schedule.owner_id}});
    return absl::OkStatus();
  }));
  return job_id;
}

absl::StatusOr<ScheduleInput> ParseScheduleYaml(FleetStores& stores, const Actor& actor,
                                                const std::string& text) {
  L4D2_ASSIGN_OR_RETURN(YAML::Node root, ParseYamlDocument(text, "yaml"));
  if (!root.IsMap()) return absl::InvalidArgumentError("yaml: a mapping expected");
  ScheduleInput input;
  v1::ScheduleDefinition& definition = input.definition;
  YamlMapReader file(root, "");
  file.String("name", &input.name, /*required=*/true);
  std::string cron, time_zone, missed;
  file.String("cron", &cron);
  file.String("time_zone", &time_zone);
  absl::Duration every = absl::ZeroDuration();
  file.Duration("every", &every);
  file.Bool("enabled", &input.enabled);
  bool only_when_empty = false, continue_on_failure = false;
  file.Bool("only_when_empty", &only_when_empty);
  file.Bool("continue_on_failure", &continue_on_failure);
  file.String("missed", &missed);
  YAML::Node target = file.Map("target");
  const std::string target_path = file.Child("target");
  YAML::Node steps = file.Sequence("steps");
  L4D2_RETURN_IF_ERROR(file.Finish());
  definition.set_cron(cron);
  definition.set_time_zone(time_zone);
  if (every != absl::ZeroDuration()) *definition.mutable_every() = ToProto(every);
  definition.set_only_when_empty(only_when_empty);
  definition.set_continue_on_failure(continue_on_failure);
  definition.set_missed(missed);

  // target: exactly one of server, blueprint, host (a name each) or fleet: true.
  if (!target.IsMap() || target.size() != 1) {
    return absl::InvalidArgumentError(
        "yaml: target: one of server, blueprint, host (a name) or fleet: true expected");
  }
  YamlMapReader target_reader(target, target_path);
  std::string server, blueprint, host;
  bool fleet = false;
  target_reader.String("server", &server);
  target_reader.String("blueprint", &blueprint);
  target_reader.String("host", &host);
  target_reader.Bool("fleet", &fleet);
  L4D2_RETURN_IF_ERROR(target_reader.Finish());
  v1::ScheduleTarget* out = definition.mutable_target();
  if (fleet) {
    out->set_kind("fleet");
  } else {
    for (const auto& [kind, name] : {std::pair<std::string, std::string>{"server", server},
                                     {"blueprint", blueprint},
                                     {"host", host}}) {
      if (name.empty()) continue;
      out->set_kind(kind);
      L4D2_ASSIGN_OR_RETURN(std::string id,
                            IdOf(stores, actor, kind, name, absl::StrCat("target.", kind)));
      out->set_id(id);
    }
    if (out->kind().empty()) return absl::InvalidArgumentError("yaml: target: a name expected");
  }

  if (!steps.IsSequence() || steps.size() == 0) {
    return absl::InvalidArgumentError("yaml: steps: a list of steps expected");
  }
  for (size_t i = 0; i < steps.size(); ++i) {
    const std::string path = absl::StrCat("steps[", i, "]");
    if (!steps[i].IsMap() || steps[i].size() != 1) {
      return absl::InvalidArgumentError(absl::StrCat(
          "yaml: ", path, ": one of command, wait, action, install, sync_overlay expected"));
    }
    YamlMapReader reader(steps[i], path);
    v1::ScheduleStep* step = definition.add_steps();
    std::string command, action, overlay;
    absl::Duration wait = absl::ZeroDuration();
    bool install = false;
    reader.String("command", &command);
    reader.Duration("wait", &wait);
    reader.String("action", &action);
    reader.Bool("install", &install);
    reader.String("sync_overlay", &overlay);
    L4D2_RETURN_IF_ERROR(reader.Finish());
    if (!command.empty()) step->set_command(command);
    if (wait != absl::ZeroDuration()) *step->mutable_wait() = ToProto(wait);
    if (!action.empty()) step->set_action(action);
    if (steps[i]["install"]) step->set_install(install);
    if (!overlay.empty()) {
      L4D2_ASSIGN_OR_RETURN(std::string id,
                            IdOf(stores, actor, "overlay", overlay, path + ".sync_overlay"));
      step->set_sync_overlay(id);
    }
  }
  return input;
}

absl::StatusOr<std::string> ScheduleToYaml(FleetStores& stores, const Schedule& schedule) {
  const v1::ScheduleDefinition& definition = schedule.definition;
  YAML::Emitter out;
  out << YAML::BeginMap;
  out << YAML::Key << "name" << YAML::Value << schedule.name;
  if (definition.has_every()) {
    out << YAML::Key << "every" << YAML::Value << Text(definition.every());
  } else {
    out << YAML::Key << "cron" << YAML::Value << YAML::DoubleQuoted << definition.cron();
    out << YAML::Key << "time_zone" << YAML::Value << definition.time_zone();
  }
  out << YAML::Key << "enabled" << YAML::Value << schedule.enabled;
  out << YAML::Key << "target" << YAML::Value << YAML::Flow << YAML::BeginMap;
  if (definition.target().kind() == "fleet") {
    out << YAML::Key << "fleet" << YAML::Value << true;
  } else {
    out << YAML::Key << definition.target().kind() << YAML::Value
        << NameOf(stores, definition.target().kind(), definition.target().id());
  }
  out << YAML::EndMap;
  out << YAML::Key << "only_when_empty" << YAML::Value << definition.only_when_empty();
  out << YAML::Key << "continue_on_failure" << YAML::Value << definition.continue_on_failure();
  out << YAML::Key << "missed" << YAML::Value << definition.missed();
  out << YAML::Key << "steps" << YAML::Value << YAML::BeginSeq;
  for (const v1::ScheduleStep& step : definition.steps()) {
    out << YAML::BeginMap;
    switch (step.step_case()) {
      case v1::ScheduleStep::kCommand:
        out << YAML::Key << "command" << YAML::Value << step.command();
        break;
      case v1::ScheduleStep::kWait:
        out << YAML::Key << "wait" << YAML::Value << Text(step.wait());
        break;
      case v1::ScheduleStep::kAction:
        out << YAML::Key << "action" << YAML::Value << step.action();
        break;
      case v1::ScheduleStep::kInstall:
        out << YAML::Key << "install" << YAML::Value << true;
        break;
      case v1::ScheduleStep::kSyncOverlay:
        out << YAML::Key << "sync_overlay" << YAML::Value
            << NameOf(stores, "overlay", step.sync_overlay());
        break;
      case v1::ScheduleStep::STEP_NOT_SET:
        break;
    }
    out << YAML::EndMap;
  }
  out << YAML::EndSeq << YAML::EndMap;
  if (!out.good()) return absl::InternalError(absl::StrCat("yaml: ", out.GetLastError()));
  return std::string(out.c_str()) + "\n";
}

absl::StatusOr<std::pair<Schedule, bool>> ApplyScheduleYaml(FleetStores& stores, const Actor& actor,
                                                            const std::string& text) {
  L4D2_ASSIGN_OR_RETURN(ScheduleInput input, ParseScheduleYaml(stores, actor, text));
  L4D2_ASSIGN_OR_RETURN(std::vector<Schedule> same,
                        stores.schedules.List(actor, {.name_prefix = input.name, .limit = 1000}));
  auto existing = std::find_if(same.begin(), same.end(), [&](const Schedule& schedule) {
    return schedule.name == input.name && schedule.owner_id == actor.user_id;
  });
  if (existing == same.end()) {
    L4D2_ASSIGN_OR_RETURN(Schedule created, CreateSchedule(stores, actor, input));
    return std::pair(std::move(created), true);
  }
  L4D2_ASSIGN_OR_RETURN(Schedule updated, UpdateSchedule(stores, actor, existing->id, input));
  return std::pair(std::move(updated), false);
}

}  // namespace l4d2::controller
