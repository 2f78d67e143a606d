#include "controller/jobs/webhook_delivery.h"

#include <sodium.h>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "common/utf8.h"
#include "rpc/proto_json.h"

namespace l4d2::controller {
namespace {

// Discord refuses a message longer than this.
constexpr size_t kDiscordContent = 2000;

}  // namespace

NewJob WebhookDeliveryJob(const Webhook& webhook, const v1::AlertEvent& event) {
  v1::WebhookDeliveryParams params;
  params.set_webhook_id(webhook.id);
  *params.mutable_event() = event;
  return {.kind = "webhook.deliver",
          .lock_key = "webhook:" + webhook.id,
          .params = ToJson(params),
          .created_by = "user:" + webhook.owner_id,
          .max_attempts = kWebhookAttempts};
}

std::string WebhookSignature(const std::string& secret, const std::string& timestamp,
                             const std::string& body) {
  unsigned char mac[crypto_auth_hmacsha256_BYTES];
  crypto_auth_hmacsha256_state state;
  crypto_auth_hmacsha256_init(&state, reinterpret_cast<const unsigned char*>(secret.data()),
                              secret.size());
  const std::string signed_text = absl::StrCat(timestamp, ".", body);
  crypto_auth_hmacsha256_update(&state, reinterpret_cast<const unsigned char*>(signed_text.data()),
                                signed_text.size());
  crypto_auth_hmacsha256_final(&state, mac);
  return "sha256=" +
         absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(mac), sizeof(mac)));
}

absl::StatusOr<std::string> DeliverWebhook(const JobContext& context, const Job& job,
                                           AgentCall& call) {
  if (context.http == nullptr) return absl::FailedPreconditionError("no HTTP client for webhooks");
  L4D2_ASSIGN_OR_RETURN(v1::WebhookDeliveryParams params,
                        FromJson<v1::WebhookDeliveryParams>(job.params, "job parameters"));
  L4D2_ASSIGN_OR_RETURN(Webhook webhook,
                        context.stores.webhooks.Get(Actor::System(), params.webhook_id()));
  v1::AlertEvent event = params.event();
  event.set_id(job.id);
  std::string body;
  if (webhook.format == "discord") {
    google::protobuf::Struct message;
    (*message.mutable_fields())["content"].set_string_value(
        Utf8Excerpt(event.text(), kDiscordContent - 3));
    (*message.mutable_fields())["username"].set_string_value("left4me");
    body = ToJson(message);
  } else {
    body = ToJson(event);
  }
  const std::string timestamp = absl::StrCat(absl::ToUnixSeconds(context.stores.clock.Now()));
  HttpPost post{
      .url = webhook.url,
      .body = body,
      .headers = {"Content-Type: application/json", "X-Left4me-Event: " + event.event(),
                  "X-Left4me-Delivery: " + job.id, "X-Left4me-Timestamp: " + timestamp,
                  "X-Left4me-Signature: " + WebhookSignature(webhook.secret, timestamp, body)},
      .timeout = absl::Seconds(10),
      .allow_private = context.allow_private_targets};
  absl::StatusOr<HttpAnswer> answer = context.http->Post(post);
  if (absl::IsPermissionDenied(answer.status())) {
    call.Event("log", std::string(answer.status().message()));
    return absl::FailedPreconditionError(answer.status().message());
  }
  if (!answer.ok()) {
    call.Event("log", absl::StrCat("attempt ", job.attempt, ": ", answer.status().message()));
    return answer.status();
  }
  call.Event("log", absl::StrCat("attempt ", job.attempt, ": HTTP ", answer->status));
  if (answer->status >= 200 && answer->status < 300) {
    v1::WebhookDeliveryResult result;
    result.set_status(answer->status);
    return ToJson(result);
  }
  if (answer->status == 408 || answer->status == 429 || answer->status >= 500) {
    return absl::UnavailableError(absl::StrCat("the receiver answered HTTP ", answer->status));
  }
  return absl::FailedPreconditionError(
      absl::StrCat("the receiver refused it: HTTP ", answer->status));
}

}  // namespace l4d2::controller
