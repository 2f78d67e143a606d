#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "controller/api/api_messages.h"
#include "controller/api/resource_routes.h"
#include "controller/api/rest_support.h"
#include "controller/jobs/webhook_delivery.h"
#include "google/protobuf/util/time_util.h"
#include "l4d2/controller/v1/alerts.pb.h"

namespace l4d2::controller {
namespace {

v1::Webhook ToApi(const Webhook& webhook) {
  v1::Webhook out;
  out.set_id(webhook.id);
  out.set_owner_id(webhook.owner_id);
  out.set_name(webhook.name);
  out.set_url(webhook.url);
  out.set_format(webhook.format);
  for (const std::string& event : webhook.events) out.add_events(event);
  out.set_enabled(webhook.enabled);
  *out.mutable_created_at() = ToTimestamp(webhook.created_at);
  *out.mutable_updated_at() = ToTimestamp(webhook.updated_at);
  return out;
}

WebhookInput ToInput(const v1::WebhookInput& input) {
  return {.name = input.name(),
          .url = input.url(),
          .format = input.format().empty() ? "json" : input.format(),
          .events = {input.events().begin(), input.events().end()},
          .enabled = input.enabled()};
}

// Webhooks: where alerts go (docs/alerts.md). The secret is in the creation's answer only.
class WebhookRoutes {
 public:
  WebhookRoutes(const RestApiDeps& deps, const RestApiOptions& options)
      : d_(deps), allow_private_(options.allow_private_webhook_targets) {}

  absl::StatusOr<ApiResponse> List(const ApiRequest& request) {
    L4D2_ASSIGN_OR_RETURN(PageRequest page, ParsePage(request));
    L4D2_ASSIGN_OR_RETURN(std::vector<Webhook> webhooks,
                          d_.stores.webhooks.List(request.actor, {.name_prefix = request.Query("q"),
                                                                  .after = PageAfter(page),
                                                                  .limit = page.limit + 1}));
    v1::ListWebhooksResponse response;
    const size_t shown = std::min(webhooks.size(), static_cast<size_t>(page.limit));
    for (size_t i = 0; i < shown; ++i) *response.add_webhooks() = ToApi(webhooks[i]);
    if (webhooks.size() > shown && shown > 0) {
      response.set_next_page_token(
          PageToken(PageKeyOf(webhooks[shown - 1].name, webhooks[shown - 1].id)));
    }
    return Json(response);
  }

  absl::StatusOr<ApiResponse> Create(const ApiRequest& request) {
    L4D2_ASSIGN_OR_RETURN(v1::WebhookInput input, Body<v1::WebhookInput>(request));
    L4D2_ASSIGN_OR_RETURN(Webhook webhook,
                          d_.stores.webhooks.Create(request.actor, ToInput(input), allow_private_));
    (void)d_.stores.audit.Append(request.actor.Name(), "webhook.create", webhook.id,
                                 AuditDetail({{"name", webhook.name}}), webhook.owner_id);
    v1::CreateWebhookResponse response;
    *response.mutable_webhook() = ToApi(webhook);
    response.set_secret(webhook.secret);
    return Json(response, 201);
  }

  absl::StatusOr<ApiResponse> Get(const ApiRequest& request) {
    L4D2_ASSIGN_OR_RETURN(Webhook webhook,
                          d_.stores.webhooks.Get(request.actor, request.Param("id")));
    return Json(ToApi(webhook));
  }

  absl::StatusOr<ApiResponse> Update(const ApiRequest& request) {
    L4D2_ASSIGN_OR_RETURN(v1::WebhookInput input, Body<v1::WebhookInput>(request));
    L4D2_ASSIGN_OR_RETURN(Webhook webhook,
                          d_.stores.webhooks.Update(request.actor, request.Param("id"),
                                                    ToInput(input), allow_private_));
    (void)d_.stores.audit.Append(request.actor.Name(), "webhook.update", webhook.id,
                                 AuditDetail({{"name", webhook.name}}), webhook.owner_id);
    return Json(ToApi(webhook));
  }

  absl::StatusOr<ApiResponse> Delete(const ApiRequest& request) {
    L4D2_ASSIGN_OR_RETURN(Webhook webhook,
                          d_.stores.webhooks.Get(request.actor, request.Param("id")));
    L4D2_RETURN_IF_ERROR(d_.stores.webhooks.Delete(request.actor, webhook.id));
    (void)d_.stores.audit.Append(request.actor.Name(), "webhook.delete", webhook.id,
                                 AuditDetail({{"name", webhook.name}}), webhook.owner_id);
    return NoContent();
  }

  // The delivery log: the webhook's delivery jobs, newest first, with their attempts, state and
  // last error (each attempt's line is in the job's events).
  absl::StatusOr<ApiResponse> Deliveries(const ApiRequest& request) {
    L4D2_ASSIGN_OR_RETURN(Webhook webhook,
                          d_.stores.webhooks.Get(request.actor, request.Param("id")));
    L4D2_ASSIGN_OR_RETURN(PageRequest page, ParsePage(request));
    L4D2_ASSIGN_OR_RETURN(std::vector<Job> jobs,
                          d_.stores.jobs.List({.kind = "webhook.deliver",
                                               .lock_key = "webhook:" + webhook.id,
                                               .before_id = PageAfter(page),
                                               .limit = page.limit + 1}));
    v1::ListJobsResponse response;
    const size_t shown = std::min(jobs.size(), static_cast<size_t>(page.limit));
    for (size_t i = 0; i < shown; ++i) *response.add_jobs() = ToApi(jobs[i]);
    if (jobs.size() > shown && shown > 0)
      response.set_next_page_token(PageToken(jobs[shown - 1].id));
    return Json(response);
  }

  // A "test" event to the webhook now, through the same delivery as alerts.
  absl::StatusOr<ApiResponse> Test(const ApiRequest& request) {
    L4D2_ASSIGN_OR_RETURN(Webhook webhook,
                          d_.stores.webhooks.Get(request.actor, request.Param("id")));
    v1::AlertEvent event;
    event.set_event("test");
    *event.mutable_at() = google::protobuf::util::TimeUtil::NanosecondsToTimestamp(
        absl::ToUnixNanos(d_.stores.clock.Now()));
    event.set_target(webhook.id);
    event.set_text(absl::StrCat("A test of webhook ", webhook.name, " from left4me"));
    L4D2_ASSIGN_OR_RETURN(std::string job_id,
                          d_.stores.jobs.Enqueue(WebhookDeliveryJob(webhook, event)));
    v1::WebhookTestQueued queued;
    queued.set_job_id(job_id);
    return Json(queued, 202);
  }

 private:
  RestApiDeps d_;
  const bool allow_private_;
};

}  // namespace

void AddWebhookRoutes(const RestApiDeps& deps, const RestApiOptions& options,
                      std::vector<Route>& routes) {
  auto api = std::make_shared<WebhookRoutes>(deps, options);
  using M = WebhookRoutes;
  auto bind = [api](auto method) { return BindRoute(api, method); };
  AppendRoutes(routes, {
                           {.method = "GET",
                            .path = "/api/v1/webhooks",
                            .summary = "Webhooks (alerts)",
                            .response = v1::ListWebhooksResponse::descriptor(),
                            .query = {"q", "limit", "page_token"},
                            .handler = bind(&M::List)},
                           {.method = "POST",
                            .path = "/api/v1/webhooks",
                            .summary = "Create a webhook (its signing secret is shown once)",
                            .request = v1::WebhookInput::descriptor(),
                            .response = v1::CreateWebhookResponse::descriptor(),
                            .success_status = 201,
                            .handler = bind(&M::Create)},
                           {.method = "GET",
                            .path = "/api/v1/webhooks/{id}",
                            .summary = "One webhook",
                            .response = v1::Webhook::descriptor(),
                            .handler = bind(&M::Get)},
                           {.method = "PUT",
                            .path = "/api/v1/webhooks/{id}",
                            .summary = "Change a webhook (its secret stays)",
                            .request = v1::WebhookInput::descriptor(),
                            .response = v1::Webhook::descriptor(),
                            .handler = bind(&M::Update)},
                           {.method = "DELETE",
                            .path = "/api/v1/webhooks/{id}",
                            .summary = "Delete a webhook",
                            .success_status = 204,
                            .handler = bind(&M::Delete)},
                           {.method = "GET",
                            .path = "/api/v1/webhooks/{id}/deliveries",
                            .summary = "A webhook's delivery log (its delivery jobs, newest first)",
                            .response = v1::ListJobsResponse::descriptor(),
                            .query = {"limit", "page_token"},
                            .handler = bind(&M::Deliveries)},
                           {.method = "POST",
                            .path = "/api/v1/webhooks/{id}/test",
                            .summary = "Send a test event to a webhook",
                            .response = v1::WebhookTestQueued::descriptor(),
                            .success_status = 202,
                            .handler = bind(&M::Test)},
                       });
}

}  // namespace l4d2::controller
