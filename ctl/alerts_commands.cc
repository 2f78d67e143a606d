// l4d2ctl alerts ...: webhooks the controller tells of crashes, crash loops, hung servers,
// unreachable hosts and failed jobs (docs/alerts.md).

#include <ostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "ctl/command_table.h"
#include "ctl/controller_commands.h"
#include "ctl/controller_support.h"
#include "ctl/exit_codes.h"
#include "l4d2/controller/v1/alerts.pb.h"

namespace l4d2::ctl {
namespace {

// One's own webhook of that name first (admins see everyone's), or the webhook of that id.
absl::StatusOr<v1::Webhook> FindWebhook(const CommandContext& context, const std::string& name) {
  absl::StatusOr<std::vector<v1::Webhook>> webhooks =
      All(context, "/api/v1/webhooks?q=" + name, &v1::ListWebhooksResponse::webhooks);
  if (!webhooks.ok()) return webhooks.status();
  for (const v1::Webhook& webhook : *webhooks) {
    if (webhook.name() == name) return webhook;
  }
  absl::StatusOr<v1::Webhook> by_id = Get<v1::Webhook>(context, "/api/v1/webhooks/" + name);
  if (absl::IsNotFound(by_id.status())) {
    return absl::NotFoundError(absl::StrCat("no webhook '", name, "'"));
  }
  return by_id;
}

}  // namespace

int RunAlertsList(const CommandContext& context, const Invocation&) {
  absl::StatusOr<std::vector<v1::Webhook>> webhooks =
      All(context, "/api/v1/webhooks", &v1::ListWebhooksResponse::webhooks);
  if (!webhooks.ok()) return Report(context, webhooks.status());
  if (context.json) {
    v1::ListWebhooksResponse all;
    for (const v1::Webhook& webhook : *webhooks) *all.add_webhooks() = webhook;
    *context.out << ToJson(all) << "\n";
    return kExitOk;
  }
  *context.out << absl::StrFormat("%-20s %-8s %-4s %-44s %s\n", "NAME", "FORMAT", "ON", "EVENTS",
                                  "URL");
  for (const v1::Webhook& webhook : *webhooks) {
    *context.out << absl::StrFormat("%-20s %-8s %-4s %-44s %s\n", webhook.name(), webhook.format(),
                                    webhook.enabled() ? "yes" : "no",
                                    absl::StrJoin(webhook.events(), ","), webhook.url());
  }
  return kExitOk;
}

int RunAlertsCreate(const CommandContext& context, const Invocation& invocation) {
  const AlertCreateOptions& options = context.options.alert_create;
  if (options.url.empty() || options.events.empty()) {
    return UsageError(context, invocation, "--url and --events are required");
  }
  v1::WebhookInput input;
  input.set_name(invocation.args[0]);
  input.set_url(options.url);
  input.set_format(options.format);
  for (const std::string& event : options.events) input.add_events(event);
  input.set_enabled(true);
  absl::StatusOr<v1::CreateWebhookResponse> made =
      Send<v1::CreateWebhookResponse>(context, "POST", "/api/v1/webhooks", ToJson(input));
  if (!made.ok()) return Report(context, made.status());
  if (context.json) {
    *context.out << ToJson(*made) << "\n";
    return kExitOk;
  }
  // The only time the secret is shown: on standard output alone, for the receiver's config.
  *context.err << "webhook " << made->webhook().name() << " created; deliveries are signed with "
               << "this secret (X-Left4me-Signature), shown once:\n";
  *context.out << made->secret() << "\n";
  return kExitOk;
}

int RunAlertsDeliveries(const CommandContext& context, const Invocation& invocation) {
  absl::StatusOr<v1::Webhook> webhook = FindWebhook(context, invocation.args[0]);
  if (!webhook.ok()) return Report(context, webhook.status());
  absl::StatusOr<v1::ListJobsResponse> deliveries = Get<v1::ListJobsResponse>(
      context, "/api/v1/webhooks/" + webhook->id() + "/deliveries?limit=50");
  if (!deliveries.ok()) return Report(context, deliveries.status());
  if (context.json) {
    *context.out << ToJson(*deliveries) << "\n";
    return kExitOk;
  }
  *context.out << absl::StrFormat("%-34s %-10s %-8s %-19s %s\n", "JOB", "STATE", "ATTEMPTS",
                                  "QUEUED", "LAST ERROR");
  for (const v1::Job& job : deliveries->jobs()) {
    *context.out << absl::StrFormat("%-34s %-10s %-8d %-19s %s\n", job.id(), job.state(),
                                    job.attempt(), Time(job.created_at()),
                                    job.error().message().empty() ? "-" : job.error().message());
  }
  return kExitOk;
}

int RunAlertsTest(const CommandContext& context, const Invocation& invocation) {
  absl::StatusOr<v1::Webhook> webhook = FindWebhook(context, invocation.args[0]);
  if (!webhook.ok()) return Report(context, webhook.status());
  absl::StatusOr<v1::WebhookTestQueued> queued =
      Send<v1::WebhookTestQueued>(context, "POST", "/api/v1/webhooks/" + webhook->id() + "/test");
  if (!queued.ok()) return Report(context, queued.status());
  return Queued(context, "test delivery to " + webhook->name(), queued->job_id());
}

int RunAlertsDelete(const CommandContext& context, const Invocation& invocation) {
  const std::string& name = invocation.args[0];
  absl::StatusOr<v1::Webhook> webhook = FindWebhook(context, name);
  if (!webhook.ok()) return Report(context, webhook.status());
  return Delete(context, "/api/v1/webhooks/" + webhook->id(), "webhook " + name);
}

}  // namespace l4d2::ctl
