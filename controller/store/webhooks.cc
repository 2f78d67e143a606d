#include "controller/store/webhooks.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/http/http_fetcher.h"
#include "common/names.h"
#include "common/status_macros.h"
#include "controller/store/ids.h"
#include "soci/soci.h"

namespace l4d2::controller {
namespace {

constexpr size_t kMaxUrlBytes = 2048;

constexpr char kColumns[] =
    "id, owner_id, name, url, format, events, secret, enabled, created_at_ms, updated_at_ms,"
    " revision";

std::vector<Webhook> ReadWebhooks(soci::session& sql, const std::string& select,
                                  const std::vector<std::string>& params) {
  std::vector<Webhook> webhooks;
  Webhook row;
  std::string events;
  int enabled = 0;
  long long created = 0, updated = 0, revision = 0;
  soci::statement statement(sql);
  for (const std::string& param : params) statement.exchange(soci::use(param));
  statement.exchange(soci::into(row.id));
  statement.exchange(soci::into(row.owner_id));
  statement.exchange(soci::into(row.name));
  statement.exchange(soci::into(row.url));
  statement.exchange(soci::into(row.format));
  statement.exchange(soci::into(events));
  statement.exchange(soci::into(row.secret));
  statement.exchange(soci::into(enabled));
  statement.exchange(soci::into(created));
  statement.exchange(soci::into(updated));
  statement.exchange(soci::into(revision));
  statement.alloc();
  statement.prepare(select);
  statement.define_and_bind();
  statement.execute(false);
  while (statement.fetch()) {
    row.events = absl::StrSplit(events, ',', absl::SkipEmpty());
    row.enabled = enabled != 0;
    row.created_at = absl::FromUnixMillis(created);
    row.updated_at = absl::FromUnixMillis(updated);
    row.revision = revision;
    webhooks.push_back(row);
  }
  return webhooks;
}

}  // namespace

absl::Status CheckWebhookUrl(const std::string& url, bool allow_private) {
  const auto invalid = [](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat("url: ", why));
  };
  if (url.size() > kMaxUrlBytes) return invalid("at most 2,048 bytes");
  absl::string_view rest = url;
  if (!absl::ConsumePrefix(&rest, "https://") && !absl::ConsumePrefix(&rest, "http://")) {
    return invalid("an http:// or https:// URL expected");
  }
  for (char c : url) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) return invalid("no spaces or controls");
  }
  absl::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
  if (absl::StrContains(authority, '@')) return invalid("no user name or password in it");
  std::string host;
  if (absl::StartsWith(authority, "[")) {
    const size_t end = authority.find(']');
    if (end == absl::string_view::npos) return invalid("an unclosed [address]");
    host = std::string(authority.substr(1, end - 1));
  } else {
    host = std::string(authority.substr(0, authority.find(':')));
  }
  host = absl::AsciiStrToLower(host);
  if (host.empty()) return invalid("a host expected");
  if (!allow_private && (IsRefusedWebhookAddress(host) || host == "localhost" ||
                         absl::EndsWith(host, ".localhost"))) {
    return invalid(
        "a loopback, link-local or unspecified address is refused (alerts.allow_private_targets)");
  }
  return absl::OkStatus();
}

WebhookStore::WebhookStore(Database& db, Clock& clock) : db_(db), clock_(clock) {}

absl::Status WebhookStore::Check(soci::session& sql, const std::string& owner_id,
                                 const WebhookInput& input, const std::string& id,
                                 bool allow_private) {
  L4D2_RETURN_IF_ERROR(ValidateInstanceName(input.name));
  if (owner_id.empty()) return absl::InvalidArgumentError("a webhook needs a user as its owner");
  L4D2_RETURN_IF_ERROR(CheckWebhookUrl(input.url, allow_private));
  if (input.format != "json" && input.format != "discord") {
    return absl::InvalidArgumentError("format: json or discord expected");
  }
  if (input.events.empty()) return absl::InvalidArgumentError("events: at least one expected");
  for (const std::string& event : input.events) {
    if (std::find_if(std::begin(kAlertEvents), std::end(kAlertEvents),
                     [&](const char* known) { return event == known; }) == std::end(kAlertEvents)) {
      return absl::InvalidArgumentError(
          absl::StrCat("events: no event '", event, "' (", absl::StrJoin(kAlertEvents, ", "), ")"));
    }
  }
  long long taken = 0;
  sql << "SELECT COUNT(*) FROM webhooks WHERE owner_id = :o AND name = :n AND id <> :id",
      soci::use(owner_id), soci::use(input.name), soci::use(id), soci::into(taken);
  if (taken > 0) return absl::AlreadyExistsError(absl::StrCat("webhook '", input.name, "' exists"));
  return absl::OkStatus();
}

absl::StatusOr<Webhook> WebhookStore::Create(const Actor& actor, const WebhookInput& input,
                                             bool allow_private) {
  const std::string id = "w" + RandomHex(12);
  std::vector<Webhook> created;
  L4D2_RETURN_IF_ERROR(db_.Transact([&](soci::session& sql) -> absl::Status {
    L4D2_RETURN_IF_ERROR(Check(sql, actor.user_id, input, id, allow_private));
    long long now = absl::ToUnixMillis(clock_.Now());
    const std::string secret = RandomHex(32);
    const std::string events = absl::StrJoin(input.events, ",");
    int enabled = input.enabled ? 1 : 0;
    sql << "INSERT INTO webhooks (id, owner_id, name, url, format, events, secret, enabled,"
           " created_at_ms, updated_at_ms, revision)"
           " VALUES (:id, :o, :n, :u, :f, :e, :s, :x, :c, :m, 1)",
        soci::use(id), soci::use(actor.user_id), soci::use(input.name), soci::use(input.url),
        soci::use(input.format), soci::use(events), soci::use(secret), soci::use(enabled),
        soci::use(now), soci::use(now);
    created =
        ReadWebhooks(sql, absl::StrCat("SELECT ", kColumns, " FROM webhooks WHERE id = :id"), {id});
    return absl::OkStatus();
  }));
  return created.front();
}

absl::StatusOr<Webhook> WebhookStore::Update(const Actor& actor, const std::string& id,
                                             const WebhookInput& input, bool allow_private) {
  std::vector<Webhook> updated;
  L4D2_RETURN_IF_ERROR(db_.Transact([&](soci::session& sql) -> absl::Status {
    std::vector<Webhook> found =
        ReadWebhooks(sql, absl::StrCat("SELECT ", kColumns, " FROM webhooks WHERE id = :id"), {id});
    if (found.empty() || !actor.Sees(found.front().owner_id)) {
      return absl::NotFoundError(absl::StrCat("no webhook '", id, "'"));
    }
    L4D2_RETURN_IF_ERROR(Check(sql, found.front().owner_id, input, id, allow_private));
    long long now = absl::ToUnixMillis(clock_.Now());
    const std::string events = absl::StrJoin(input.events, ",");
    int enabled = input.enabled ? 1 : 0;
    sql << "UPDATE webhooks SET name = :n, url = :u, format = :f, events = :e, enabled = :x,"
           " updated_at_ms = :m, revision = revision + 1 WHERE id = :id",
        soci::use(input.name), soci::use(input.url), soci::use(input.format), soci::use(events),
        soci::use(enabled), soci::use(now), soci::use(id);
    updated =
        ReadWebhooks(sql, absl::StrCat("SELECT ", kColumns, " FROM webhooks WHERE id = :id"), {id});
    return absl::OkStatus();
  }));
  return updated.front();
}

absl::StatusOr<Webhook> WebhookStore::Get(const Actor& actor, const std::string& id) {
  std::vector<Webhook> found;
  L4D2_RETURN_IF_ERROR(db_.WithSession([&](soci::session& sql) -> absl::Status {
    found =
        ReadWebhooks(sql, absl::StrCat("SELECT ", kColumns, " FROM webhooks WHERE id = :id"), {id});
    return absl::OkStatus();
  }));
  if (found.empty() || !actor.Sees(found.front().owner_id)) {
    return absl::NotFoundError(absl::StrCat("no webhook '", id, "'"));
  }
  return found.front();
}

absl::StatusOr<std::vector<Webhook>> WebhookStore::List(const Actor& actor, const PageQuery& page) {
  std::vector<std::string> params;
  const std::string where = OwnedPageWhere(actor, page, params);
  std::vector<Webhook> webhooks;
  L4D2_RETURN_IF_ERROR(db_.WithSession([&](soci::session& sql) -> absl::Status {
    webhooks = ReadWebhooks(sql,
                            absl::StrCat("SELECT ", kColumns, " FROM webhooks WHERE ", where,
                                         " ORDER BY name, id LIMIT ", page.limit),
                            params);
    return absl::OkStatus();
  }));
  return webhooks;
}

absl::Status WebhookStore::Delete(const Actor& actor, const std::string& id) {
  L4D2_ASSIGN_OR_RETURN(Webhook webhook, Get(actor, id));
  return db_.WithSession([&](soci::session& sql) -> absl::Status {
    sql << "DELETE FROM webhooks WHERE id = :id", soci::use(webhook.id);
    return absl::OkStatus();
  });
}

absl::StatusOr<std::vector<std::pair<Webhook, bool>>> WebhookStore::Enabled() {
  std::vector<std::pair<Webhook, bool>> enabled;
  L4D2_RETURN_IF_ERROR(db_.WithSession([&](soci::session& sql) -> absl::Status {
    std::vector<Webhook> webhooks = ReadWebhooks(
        sql, absl::StrCat("SELECT ", kColumns, " FROM webhooks WHERE enabled = 1 ORDER BY id"), {});
    for (Webhook& webhook : webhooks) {
      std::string role;
      int disabled = 0;
      sql << "SELECT role, disabled FROM users WHERE id = :id", soci::use(webhook.owner_id),
          soci::into(role), soci::into(disabled);
      if (disabled != 0) continue;  // a disabled user hears nothing
      enabled.emplace_back(std::move(webhook), role == "admin");
    }
    return absl::OkStatus();
  }));
  return enabled;
}

}  // namespace l4d2::controller
