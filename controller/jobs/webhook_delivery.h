#pragma once

// "webhook.deliver": one alert event to one webhook (docs/alerts.md), queued by the alert
// dispatcher (controller/fleet/alert_dispatcher.h) or a test delivery.
//
// A "json" webhook gets the AlertEvent as JSON, its `id` the job's id (the same on every retry:
// receivers drop what they have seen), with
//   X-Left4me-Event: <event>
//   X-Left4me-Delivery: <job id>
//   X-Left4me-Timestamp: <unix seconds of this attempt>
//   X-Left4me-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>" keyed with the secret>
// (as Stripe and GitHub sign theirs: a receiver checks the signature and refuses old
// timestamps). A "discord" webhook gets {"content": text, "username": "left4me"} with the same
// headers. A 2xx answer delivers it; no answer, 408, 429 or 5xx is retried with the queue's
// backoff (up to 12 attempts: about 18 minutes); another status, or a refused address, fails it.
// Each attempt's outcome is a line of the job's log: the delivery log is the jobs of the webhook
// (lock key "webhook:<id>": one delivery at a time, in order).

#include <string>

#include "absl/status/statusor.h"
#include "controller/jobs/agent_client.h"
#include "controller/jobs/job_kinds.h"
#include "controller/store/webhooks.h"
#include "l4d2/controller/v1/alerts.pb.h"

namespace l4d2::controller {

inline constexpr int kWebhookAttempts = 12;

// The delivery of `event` to `webhook`, on behalf of the webhook's owner.
NewJob WebhookDeliveryJob(const Webhook& webhook, const v1::AlertEvent& event);

// "<timestamp>.<body>" signed with `secret`: "sha256=<hex>".
std::string WebhookSignature(const std::string& secret, const std::string& timestamp,
                             const std::string& body);

// One attempt. Errors: UNAVAILABLE (retried) for no answer, 408, 429, 5xx; FAILED_PRECONDITION
// for a refused address or another status; NOT_FOUND for a webhook deleted since.
absl::StatusOr<std::string> DeliverWebhook(const JobContext& context, const Job& job,
                                           AgentCall& call);

}  // namespace l4d2::controller
