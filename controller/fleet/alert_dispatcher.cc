#include "controller/fleet/alert_dispatcher.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/clock.h"
#include "common/logging.h"
#include "common/status_macros.h"
#include "controller/jobs/webhook_delivery.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/time_util.h"
#include "soci/soci.h"

namespace l4d2::controller {
namespace {

constexpr char kCursor[] = "audit";

std::string Field(const google::protobuf::Struct& detail, const std::string& key) {
  auto it = detail.fields().find(key);
  return it == detail.fields().end() ? "" : it->second.string_value();
}

// The sentence a person reads.
std::string TextOf(FleetStores& stores, const std::string& event, const AuditEntry& entry,
                   const google::protobuf::Struct& detail) {
  const std::string name = Field(detail, "name").empty() ? entry.target : Field(detail, "name");
  if (event == "server.crashed") return absl::StrCat("Server ", name, " crashed");
  if (event == "server.crash_loop") return absl::StrCat("Server ", name, " is in a crash loop");
  if (event == "server.hung") {
    return absl::StrCat("Server ", name, " is hung: its game stopped answering");
  }
  if (event == "server.gave_up") {
    return absl::StrCat("Server ", name, " did not start after ", Field(detail, "attempts"),
                        " attempts; the controller stopped trying");
  }
  if (event == "host.unreachable" || event == "host.back") {
    absl::StatusOr<Host> host = stores.hosts.Get(entry.target);
    const std::string host_name = host.ok() ? host->name : entry.target;
    return event == "host.back" ? absl::StrCat("Host ", host_name, " is back")
                                : absl::StrCat("Host ", host_name, " is unreachable");
  }
  if (event == "host.disk_low") {
    return absl::StrCat("Host ", name, "'s disk is nearly full: ", Field(detail, "free_percent"),
                        " % free");
  }
  if (event == "update.available") {
    return absl::StrCat("Game build ", Field(detail, "build"),
                        " is available; hosts behind: ", Field(detail, "hosts"));
  }
  if (event == "update.required") {
    return absl::StrCat("Server ", name, " says Steam requires a game update (it runs build ",
                        Field(detail, "build"), ")");
  }
  if (event == "schedule.failed") {
    return absl::StrCat("A schedule's run failed: ", Field(detail, "error"));
  }
  return absl::StrCat("Job ", Field(detail, "kind"), " ", entry.target,
                      " failed: ", Field(detail, "error"));
}

}  // namespace

std::optional<std::string> AlertEventOf(const AuditEntry& entry) {
  for (const char* same :
       {"server.crashed", "server.crash_loop", "server.hung", "server.gave_up"}) {
    if (entry.action == same) return entry.action;
  }
  google::protobuf::Struct detail;
  (void)google::protobuf::util::JsonStringToMessage(entry.detail, &detail);
  if (entry.action == "host.state") {
    if (Field(detail, "to") == "unreachable") return "host.unreachable";
    if (Field(detail, "from") == "unreachable") return "host.back";
    return std::nullopt;
  }
  if (entry.action == "update.available" || entry.action == "host.disk_low") return entry.action;
  if (entry.action == "server.update_required") return "update.required";
  if (entry.action == "job.failed") {
    const std::string kind = Field(detail, "kind");
    // A delivery that failed is in its webhook's delivery log; alerting of it would send a
    // failing webhook alerts about itself without end.
    if (kind == "webhook.deliver") return std::nullopt;
    return kind == "schedule.run" ? "schedule.failed" : "job.failed";
  }
  return std::nullopt;
}

AlertDispatcher::AlertDispatcher(FleetStores& stores, AlertDispatcherOptions options)
    : stores_(stores), options_(std::move(options)) {}

AlertDispatcher::~AlertDispatcher() { Stop(); }

absl::StatusOr<int> AlertDispatcher::Round() {
  L4D2_ASSIGN_OR_RETURN(held_,
                        stores_.leases.TryAcquire("alerts", options_.owner, options_.check * 3));
  if (!held_) return 0;
  const std::string name = kCursor;
  std::string cursor;
  L4D2_RETURN_IF_ERROR(stores_.db.WithSession([&](soci::session& sql) -> absl::Status {
    sql << "SELECT audit_id FROM alert_cursor WHERE name = :n", soci::use(name), soci::into(cursor);
    if (sql.got_data()) return absl::OkStatus();
    // The first round: from the newest entry on ("0" sorts before every id).
    std::string newest = "0";
    sql << "SELECT COALESCE(MAX(id), '0') FROM audit_log", soci::into(newest);
    sql << "INSERT INTO alert_cursor (name, audit_id) VALUES (:n, :a) ON CONFLICT (name) DO "
           "NOTHING",
        soci::use(name), soci::use(newest);
    cursor.clear();
    return absl::OkStatus();
  }));
  if (cursor.empty()) return 0;
  L4D2_ASSIGN_OR_RETURN(std::vector<AuditEntry> entries,
                        stores_.audit.List({.after_id = cursor, .limit = options_.batch}));
  if (entries.empty()) return 0;
  L4D2_ASSIGN_OR_RETURN(auto webhooks, stores_.webhooks.Enabled());
  std::vector<NewJob> jobs;
  for (const AuditEntry& entry : entries) {
    std::optional<std::string> event = AlertEventOf(entry);
    if (!event) continue;
    v1::AlertEvent alert;
    alert.set_event(*event);
    *alert.mutable_at() =
        google::protobuf::util::TimeUtil::NanosecondsToTimestamp(absl::ToUnixNanos(entry.at));
    alert.set_target(entry.target);
    alert.set_audit_id(entry.id);
    (void)google::protobuf::util::JsonStringToMessage(entry.detail, alert.mutable_detail());
    alert.set_text(TextOf(stores_, *event, entry, alert.detail()));
    for (const auto& [webhook, admin] : webhooks) {
      if (std::find(webhook.events.begin(), webhook.events.end(), *event) == webhook.events.end()) {
        continue;
      }
      if (!admin && entry.owner != webhook.owner_id) continue;  // not theirs to hear of
      jobs.push_back(WebhookDeliveryJob(webhook, alert));
    }
  }
  const std::string last = entries.back().id;
  absl::Status written = stores_.db.Transact([&](soci::session& sql) -> absl::Status {
    if (!jobs.empty()) L4D2_RETURN_IF_ERROR(stores_.jobs.Enqueue(sql, jobs).status());
    soci::statement move = (sql.prepare << "UPDATE alert_cursor SET audit_id = :new WHERE name = :n"
                                           " AND audit_id = :old",
                            soci::use(last), soci::use(name), soci::use(cursor));
    move.execute(true);
    if (move.get_affected_rows() != 1) return absl::AbortedError("another controller moved on");
    return absl::OkStatus();
  });
  if (absl::IsAborted(written)) return 0;
  L4D2_RETURN_IF_ERROR(written);
  return static_cast<int>(jobs.size());
}

void AlertDispatcher::Start() {
  thread_ = std::thread([this] {
    absl::MutexLock lock(&mutex_);
    do {
      mutex_.Unlock();
      absl::StatusOr<int> queued = Round();
      if (!queued.ok()) {
        L4D2_LOG(WARNING) << "alerts: " << queued.status().message();
      } else if (*queued > 0) {
        L4D2_LOG(INFO) << "alerts: " << *queued << " deliveries queued";
      }
      mutex_.Lock();
    } while (!mutex_.AwaitWithDeadline(absl::Condition(&stopping_), RealDeadline(options_.check)));
  });
}

void AlertDispatcher::Stop() {
  {
    absl::MutexLock lock(&mutex_);
    if (stopping_) return;
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
  if (held_) (void)stores_.leases.Release("alerts", options_.owner);
}

}  // namespace l4d2::controller
