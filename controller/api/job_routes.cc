#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "controller/api/api_messages.h"
#include "controller/api/event_sources.h"
#include "controller/api/resource_routes.h"
#include "controller/api/rest_support.h"

namespace l4d2::controller {
namespace {

// Jobs, their event logs and streams.
class JobRoutes {
 public:
  JobRoutes(const RestApiDeps& deps, const RestApiOptions& options) : d_(deps) {}

  // The job, if the caller may see it: theirs, or one of their servers'.
  absl::StatusOr<Job> VisibleJob(const ApiRequest& request) {
    const absl::Status missing =
        absl::NotFoundError(absl::StrCat("no job '", request.Param("id"), "'"));
    absl::StatusOr<Job> job = d_.stores.jobs.Get(request.Param("id"));
    if (!job.ok()) return absl::IsNotFound(job.status()) ? missing : job.status();
    if (request.actor.admin || job->created_by == request.actor.Name()) return job;
    if (absl::StartsWith(job->lock_key, "server:") &&
        d_.stores.servers.Get(request.actor, job->lock_key.substr(7)).ok()) {
      return job;
    }
    return missing;
  }

  absl::StatusOr<ApiResponse> ListJobs(const ApiRequest& request) {
    L4D2_ASSIGN_OR_RETURN(PageRequest page, ParsePage(request));
    JobListQuery query{.visible_to = request.actor.admin ? "" : request.actor.user_id,
                       .kind = request.Query("kind"),
                       .limit = page.limit + 1};
    if (!page.token.empty()) query.before_id = *PageKey(page.token);
    if (const std::string state = request.Query("state"); !state.empty()) {
      bool known = false;
      for (JobState s : {JobState::kQueued, JobState::kRunning, JobState::kSucceeded,
                         JobState::kFailed, JobState::kCancelled}) {
        if (state == JobStateName(s)) {
          query.state = s;
          known = true;
        }
      }
      if (!known) {
        return absl::InvalidArgumentError("state: queued, running, succeeded, failed or cancelled");
      }
    }
    if (const std::string server = request.Query("server_id"); !server.empty()) {
      query.lock_key = "server:" + server;
    }
    // Ids and revisions from an index; full rows only for those not shown at that revision.
    L4D2_ASSIGN_OR_RETURN(std::vector<RowRevision> rows, d_.stores.jobs.ListRevisions(query));
    return MemoPage(
        json_, rows, page,
        [&](absl::Span<const std::string> ids) {
          return d_.stores.jobs.GetMany(query.visible_to, ids);
        },
        [](const RowRevision& row) { return row.id; });
  }

  absl::StatusOr<ApiResponse> GetJob(const ApiRequest& request) {
    L4D2_ASSIGN_OR_RETURN(Job job, VisibleJob(request));
    return Json(ToApi(job));
  }

  absl::StatusOr<ApiResponse> CancelJob(const ApiRequest& request) {
    L4D2_ASSIGN_OR_RETURN(Job job, VisibleJob(request));
    L4D2_RETURN_IF_ERROR(d_.stores.jobs.Cancel(job.id));
    (void)d_.stores.audit.Append(request.actor.Name(), "job.cancel", job.id,
                                 AuditDetail({{"kind", job.kind}}));
    L4D2_ASSIGN_OR_RETURN(job, d_.stores.jobs.Get(job.id));
    return Json(ToApi(job), 202);
  }

  absl::StatusOr<ApiResponse> JobEvents(const ApiRequest& request) {
    L4D2_ASSIGN_OR_RETURN(Job job, VisibleJob(request));
    L4D2_ASSIGN_OR_RETURN(PageRequest page, ParsePage(request));
    int64_t after = 0;
    if (!page.token.empty() && !absl::SimpleAtoi(*PageKey(page.token), &after)) {
      return absl::InvalidArgumentError("page_token: not a token of this list");
    }
    L4D2_ASSIGN_OR_RETURN(std::vector<JobEvent> events,
                          d_.stores.jobs.Events(job.id, after, page.limit + 1));
    v1::ListJobEventsResponse response;
    for (size_t i = 0; i < events.size() && static_cast<int>(i) < page.limit; ++i) {
      *response.add_events() = ToApi(events[i]);
    }
    if (static_cast<int>(events.size()) > page.limit) {
      response.set_next_page_token(PageToken(absl::StrCat(events[page.limit - 1].seq)));
    }
    return Json(response);
  }

  absl::StatusOr<StreamRequest> JobStream(const ApiRequest& request) {
    L4D2_ASSIGN_OR_RETURN(Job job, VisibleJob(request));
    StreamRequest stream{.topic = EventSources::JobTopic(job.id)};
    int64_t after = 0;
    if (!request.last_event_id.empty()) {
      after = EventSources::JobEventSeq(request.last_event_id);
      if (after < 0) return absl::InvalidArgumentError("Last-Event-ID: not an id of this stream");
      stream.after_id = request.last_event_id;
    }
    // Read the job before its events: an end event then follows every event of the job.
    const bool ended = job.state == JobState::kSucceeded || job.state == JobState::kFailed ||
                       job.state == JobState::kCancelled;
    for (;;) {
      L4D2_ASSIGN_OR_RETURN(std::vector<JobEvent> events,
                            d_.stores.jobs.Events(job.id, after, 1000));
      for (const JobEvent& event : events) {
        stream.replay.push_back(EventSources::JobStreamEvent(event));
        after = event.seq;
      }
      if (events.size() < 1000) break;
    }
    if (ended && !absl::EndsWith(request.last_event_id, ".end")) {
      stream.replay.push_back(EventSources::JobEndEvent(job, after));
    }
    if (!stream.replay.empty()) stream.after_id = stream.replay.back().id;
    return stream;
  }

 private:
  RestApiDeps d_;
  RowJsonMemo<Job> json_{"jobs", [](const Job& row) { return ToJson(ToApi(row)); }};
};

}  // namespace

void AddJobRoutes(const RestApiDeps& deps, const RestApiOptions& options,
                  std::vector<Route>& routes) {
  auto api = std::make_shared<JobRoutes>(deps, options);
  using M = JobRoutes;
  auto bind = [api](auto method) { return BindRoute(api, method); };
  AppendRoutes(routes,
               {
                   {.method = "GET",
                    .path = "/api/v1/jobs",
                    .summary = "Jobs, newest first",
                    .response = v1::ListJobsResponse::descriptor(),
                    .query = {"kind", "state", "server_id", "limit", "page_token"},
                    .handler = bind(&M::ListJobs)},
                   {.method = "GET",
                    .path = "/api/v1/jobs/{id}",
                    .summary = "One job",
                    .response = v1::Job::descriptor(),
                    .handler = bind(&M::GetJob)},
                   {.method = "POST",
                    .path = "/api/v1/jobs/{id}/cancel",
                    .summary = "Cancel a job",
                    .response = v1::Job::descriptor(),
                    .success_status = 202,
                    .handler = bind(&M::CancelJob)},
                   {.method = "GET",
                    .path = "/api/v1/jobs/{id}/events",
                    .summary = "A job's event log",
                    .response = v1::ListJobEventsResponse::descriptor(),
                    .query = {"limit", "page_token"},
                    .handler = bind(&M::JobEvents)},
                   {.method = "GET",
                    .path = "/api/v1/jobs/{id}/events/stream",
                    .summary = "A job's events as Server-Sent Events, ending with its final state",
                    .stream = bind(&M::JobStream)},
               });
}

}  // namespace l4d2::controller
