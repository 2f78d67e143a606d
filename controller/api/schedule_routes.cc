#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "controller/api/api_messages.h"
#include "controller/api/resource_routes.h"
#include "controller/api/rest_support.h"
#include "controller/usecases/schedules.h"
#include "l4d2/controller/v1/schedules.pb.h"

namespace l4d2::controller {
namespace {

constexpr int kMaxOccurrences = 50;

v1::Schedule ToApi(const Schedule& schedule) {
  v1::Schedule out;
  out.set_id(schedule.id);
  out.set_owner_id(schedule.owner_id);
  out.set_name(schedule.name);
  *out.mutable_definition() = schedule.definition;
  out.set_enabled(schedule.enabled);
  if (schedule.next_run_at) *out.mutable_next_run_at() = ToTimestamp(*schedule.next_run_at);
  if (schedule.last_run_at) *out.mutable_last_run_at() = ToTimestamp(*schedule.last_run_at);
  out.set_last_job_id(schedule.last_job_id);
  *out.mutable_created_at() = ToTimestamp(schedule.created_at);
  *out.mutable_updated_at() = ToTimestamp(schedule.updated_at);
  return out;
}

// Schedules: what the controller does by itself at given times.
class ScheduleRoutes {
 public:
  explicit ScheduleRoutes(const RestApiDeps& deps) : d_(deps) {}

  // Paged in SQL (keyset over name and id).
  absl::StatusOr<ApiResponse> List(const ApiRequest& request) {
    L4D2_ASSIGN_OR_RETURN(PageRequest page, ParsePage(request));
    L4D2_ASSIGN_OR_RETURN(
        std::vector<Schedule> schedules,
        d_.stores.schedules.List(request.actor, {.name_prefix = request.Query("q"),
                                                 .after = PageAfter(page),
                                                 .limit = page.limit + 1}));
    v1::ListSchedulesResponse response;
    const size_t shown = std::min(schedules.size(), static_cast<size_t>(page.limit));
    for (size_t i = 0; i < shown; ++i) *response.add_schedules() = ToApi(schedules[i]);
    if (schedules.size() > shown && shown > 0) {
      response.set_next_page_token(
          PageToken(PageKeyOf(schedules[shown - 1].name, schedules[shown - 1].id)));
    }
    return Json(response);
  }

  static ScheduleInput ToInput(const v1::ScheduleInput& input) {
    return {.name = input.name(), .definition = input.definition(), .enabled = input.enabled()};
  }

  absl::StatusOr<ApiResponse> Create(const ApiRequest& request) {
    L4D2_ASSIGN_OR_RETURN(v1::ScheduleInput input, Body<v1::ScheduleInput>(request));
    L4D2_ASSIGN_OR_RETURN(Schedule schedule,
                          CreateSchedule(d_.stores, request.actor, ToInput(input)));
    return Json(ToApi(schedule), 201);
  }

  absl::StatusOr<ApiResponse> Get(const ApiRequest& request) {
    L4D2_ASSIGN_OR_RETURN(Schedule schedule,
                          d_.stores.schedules.Get(request.actor, request.Param("id")));
    return Json(ToApi(schedule));
  }

  absl::StatusOr<ApiResponse> Update(const ApiRequest& request) {
    L4D2_ASSIGN_OR_RETURN(v1::ScheduleInput input, Body<v1::ScheduleInput>(request));
    L4D2_ASSIGN_OR_RETURN(Schedule schedule, UpdateSchedule(d_.stores, request.actor,
                                                            request.Param("id"), ToInput(input)));
    return Json(ToApi(schedule));
  }

  absl::StatusOr<ApiResponse> Delete(const ApiRequest& request) {
    L4D2_RETURN_IF_ERROR(DeleteSchedule(d_.stores, request.actor, request.Param("id")));
    return NoContent();
  }

  absl::StatusOr<ApiResponse> Run(const ApiRequest& request) {
    L4D2_ASSIGN_OR_RETURN(std::string job_id,
                          RunScheduleNow(d_.stores, request.actor, request.Param("id")));
    v1::ScheduleRunQueued queued;
    queued.set_job_id(job_id);
    return Json(queued, 202);
  }

  absl::StatusOr<ApiResponse> Next(const ApiRequest& request) {
    L4D2_ASSIGN_OR_RETURN(Schedule schedule,
                          d_.stores.schedules.Get(request.actor, request.Param("id")));
    int count = 5;
    const std::string text = request.Query("count");
    if (!text.empty() &&
        (!absl::SimpleAtoi(text, &count) || count < 1 || count > kMaxOccurrences)) {
      return absl::InvalidArgumentError(
          absl::StrCat("count: a number from 1 to ", kMaxOccurrences, " expected"));
    }
    v1::ScheduleOccurrences occurrences;
    absl::Time after = d_.stores.clock.Now();
    for (int i = 0; i < count; ++i) {
      L4D2_ASSIGN_OR_RETURN(std::optional<absl::Time> next,
                            NextOccurrence(schedule.definition, after));
      if (!next) break;
      *occurrences.add_at() = ToTimestamp(*next);
      after = *next;
    }
    return Json(occurrences);
  }

  absl::StatusOr<ApiResponse> ExportYaml(const ApiRequest& request) {
    L4D2_ASSIGN_OR_RETURN(Schedule schedule,
                          d_.stores.schedules.Get(request.actor, request.Param("id")));
    v1::ScheduleYaml file;
    L4D2_ASSIGN_OR_RETURN(*file.mutable_yaml(), ScheduleToYaml(d_.stores, schedule));
    return Json(file);
  }

  absl::StatusOr<ApiResponse> ApplyYaml(const ApiRequest& request) {
    L4D2_ASSIGN_OR_RETURN(v1::ScheduleYaml file, Body<v1::ScheduleYaml>(request));
    L4D2_ASSIGN_OR_RETURN(auto applied, ApplyScheduleYaml(d_.stores, request.actor, file.yaml()));
    return Json(ToApi(applied.first), applied.second ? 201 : 200);
  }

 private:
  RestApiDeps d_;
};

}  // namespace

void AddScheduleRoutes(const RestApiDeps& deps, const RestApiOptions& options,
                       std::vector<Route>& routes) {
  auto api = std::make_shared<ScheduleRoutes>(deps);
  using M = ScheduleRoutes;
  auto bind = [api](auto method) { return BindRoute(api, method); };
  AppendRoutes(routes,
               {
                   {.method = "GET",
                    .path = "/api/v1/schedules",
                    .summary = "Schedules",
                    .response = v1::ListSchedulesResponse::descriptor(),
                    .query = {"q", "limit", "page_token"},
                    .handler = bind(&M::List)},
                   {.method = "POST",
                    .path = "/api/v1/schedules",
                    .summary = "Create a schedule",
                    .request = v1::ScheduleInput::descriptor(),
                    .response = v1::Schedule::descriptor(),
                    .success_status = 201,
                    .handler = bind(&M::Create)},
                   {.method = "GET",
                    .path = "/api/v1/schedules/{id}",
                    .summary = "One schedule",
                    .response = v1::Schedule::descriptor(),
                    .handler = bind(&M::Get)},
                   {.method = "PUT",
                    .path = "/api/v1/schedules/{id}",
                    .summary = "Change a schedule (its next occurrence is computed again)",
                    .request = v1::ScheduleInput::descriptor(),
                    .response = v1::Schedule::descriptor(),
                    .handler = bind(&M::Update)},
                   {.method = "DELETE",
                    .path = "/api/v1/schedules/{id}",
                    .summary = "Delete a schedule (runs already queued go on)",
                    .success_status = 204,
                    .handler = bind(&M::Delete)},
                   {.method = "POST",
                    .path = "/api/v1/schedules/{id}/run",
                    .summary = "Run a schedule now (a schedule.run job)",
                    .response = v1::ScheduleRunQueued::descriptor(),
                    .success_status = 202,
                    .handler = bind(&M::Run)},
                   {.method = "GET",
                    .path = "/api/v1/schedules/{id}/next",
                    .summary = "A schedule's coming occurrences",
                    .response = v1::ScheduleOccurrences::descriptor(),
                    .query = {"count"},
                    .handler = bind(&M::Next)},
                   {.method = "GET",
                    .path = "/api/v1/schedules/{id}/yaml",
                    .summary = "The schedule as the YAML file of `l4d2ctl schedules export`",
                    .response = v1::ScheduleYaml::descriptor(),
                    .handler = bind(&M::ExportYaml)},
                   {.method = "POST",
                    .path = "/api/v1/schedules/yaml",
                    .summary = "Create or update (by name) the schedule of a YAML file, as "
                               "`l4d2ctl schedules apply -f` does",
                    .request = v1::ScheduleYaml::descriptor(),
                    .response = v1::Schedule::descriptor(),
                    .handler = bind(&M::ApplyYaml)},
               });
}

}  // namespace l4d2::controller
