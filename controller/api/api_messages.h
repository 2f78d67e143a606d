#pragma once

// The stores' rows as the API's messages (l4d2/controller/v1/api.proto). Stored JSON (job
// parameters and results, overlay definitions, server status) is embedded as JSON, not as a
// string inside JSON.

#include "controller/store/api_tokens.h"
#include "controller/store/audit_log.h"
#include "controller/store/blueprints.h"
#include "controller/store/hosts.h"
#include "controller/store/job_queue.h"
#include "controller/store/metric_history.h"
#include "controller/store/overlays.h"
#include "controller/store/player_history.h"
#include "controller/store/servers.h"
#include "controller/store/users.h"
#include "google/protobuf/duration.pb.h"
#include "google/protobuf/timestamp.pb.h"
#include "l4d2/agent/v1/logs.pb.h"
#include "l4d2/controller/v1/api.pb.h"

namespace l4d2::controller {

google::protobuf::Timestamp ToTimestamp(absl::Time time);
google::protobuf::Duration ToDuration(absl::Duration duration);

v1::User ToApi(const User& user);
v1::ApiToken ToApi(const ApiToken& token);
v1::Host ToApi(const Host& host, int server_count);
v1::Overlay ToApi(const Overlay& overlay);
v1::Blueprint ToApi(const Blueprint& blueprint);
v1::Server ToApi(const Server& server);
v1::Job ToApi(const Job& job);
v1::JobEvent ToApi(const JobEvent& event);
v1::AuditEntry ToApi(const AuditEntry& entry);

// A host as listed: its row and the servers placed on it.
struct ListedHost {
  std::string id;
  Host host;
  int server_count = 0;
};

// Fingerprints of every field ToApi shows of a row (keep them with ToApi): the API remembers a
// row's JSON while its fingerprint is the same (row_json.h). Rows with a revision column
// (servers, blueprints, overlays, jobs) need none.
int64_t Fingerprint(const User& user);
int64_t Fingerprint(const ApiToken& token);
int64_t Fingerprint(const ListedHost& host);
v1::MetricSample ToApi(const MetricSample& sample);
// `now`: the end of an open session's time so far.
v1::PlayerSession ToApi(const PlayerSession& session, const std::string& server_name,
                        absl::Time now);
v1::PlayerEvent ToApi(const PlayerTimelineEvent& event, const std::string& server_name);
v1::Player ToApi(const PlayerSummary& player);
v1::SteamProfile ToApi(const SteamProfile& profile);
// A server's newest sample as its live figures.
v1::ServerLive ToLive(const MetricSample& sample);
// A console line as its agent sent it.
v1::LogLine ToApi(const agent::v1::LogLine& line);

}  // namespace l4d2::controller
