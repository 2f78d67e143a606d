#include "controller/api/api_messages.h"

#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/time_util.h"
#include "rpc/proto_json.h"

namespace l4d2::controller {
namespace {

// `json` as a Struct; an empty Struct when it is not a JSON object.
google::protobuf::Struct ToStruct(const std::string& json) {
  google::protobuf::Struct object;
  if (!json.empty()) (void)google::protobuf::util::JsonStringToMessage(json, &object);
  return object;
}

}  // namespace

google::protobuf::Timestamp ToTimestamp(absl::Time time) {
  google::protobuf::Timestamp stamp;
  const int64_t micros = absl::ToUnixMicros(time);
  stamp.set_seconds(micros / 1000000);
  stamp.set_nanos(static_cast<int32_t>(micros % 1000000) * 1000);
  if (stamp.nanos() < 0) {
    stamp.set_seconds(stamp.seconds() - 1);
    stamp.set_nanos(stamp.nanos() + 1000000000);
  }
  return stamp;
}

v1::User ToApi(const User& user) {
  v1::User out;
  out.set_id(user.id);
  out.set_username(user.username);
  out.set_role(RoleName(user.role));
  out.set_disabled(user.disabled);
  *out.mutable_created_at() = ToTimestamp(user.created_at);
  return out;
}

v1::ApiToken ToApi(const ApiToken& token) {
  v1::ApiToken out;
  out.set_id(token.id);
  out.set_user_id(token.user_id);
  out.set_name(token.name);
  for (const std::string& scope : token.scopes) out.add_scopes(scope);
  *out.mutable_created_at() = ToTimestamp(token.created_at);
  if (token.last_used) *out.mutable_last_used_at() = ToTimestamp(*token.last_used);
  if (token.revoked_at) *out.mutable_revoked_at() = ToTimestamp(*token.revoked_at);
  return out;
}

v1::Host ToApi(const Host& host, int server_count) {
  v1::Host out;
  out.set_id(host.id);
  out.set_name(host.name);
  out.set_address(host.address);
  out.set_state(host.state);
  out.set_drained(host.drained);
  out.set_max_instances(host.max_instances);
  out.set_port_first(host.port_first);
  out.set_port_last(host.port_last);
  out.set_installed_build(host.installed_build);
  out.set_disk_low(host.disk_low);
  out.set_memory_bytes(host.memory_bytes);
  if (host.last_seen) *out.mutable_last_seen_at() = ToTimestamp(*host.last_seen);
  *out.mutable_created_at() = ToTimestamp(host.created_at);
  if (host.certificate_expires) {
    *out.mutable_certificate_expires_at() = ToTimestamp(*host.certificate_expires);
  }
  out.set_server_count(server_count);
  for (int port : host.ports_in_use) out.add_ports_in_use(port);
  for (const UnmanagedInstance& instance : host.unmanaged) {
    v1::UnmanagedInstance* added = out.add_unmanaged_instances();
    added->set_name(instance.name);
    added->set_port(instance.port);
    added->set_state(instance.state);
  }
  return out;
}

v1::Overlay ToApi(const Overlay& overlay) {
  v1::Overlay out;
  out.set_id(overlay.id);
  out.set_owner_id(overlay.owner_id);
  out.set_ref(overlay.ref);
  out.set_global(overlay.owner_id.empty());
  *out.mutable_source() = overlay.source;
  out.set_revision(overlay.revision);
  *out.mutable_created_at() = ToTimestamp(overlay.created_at);
  *out.mutable_updated_at() = ToTimestamp(overlay.updated_at);
  return out;
}

v1::Blueprint ToApi(const Blueprint& blueprint) {
  v1::Blueprint out;
  out.set_id(blueprint.id);
  out.set_owner_id(blueprint.owner_id);
  out.set_name(blueprint.name);
  *out.mutable_settings() = blueprint.settings;
  for (const BlueprintOverlay& overlay : blueprint.overlays) {
    v1::BlueprintOverlay* layer = out.add_overlays();
    layer->set_overlay_id(overlay.overlay_id);
    layer->set_exec_server_cfg(overlay.exec_server_cfg);
  }
  *out.mutable_created_at() = ToTimestamp(blueprint.created_at);
  *out.mutable_updated_at() = ToTimestamp(blueprint.updated_at);
  return out;
}

v1::Server ToApi(const Server& server) {
  v1::Server out;
  out.set_id(server.id);
  out.set_owner_id(server.owner_id);
  out.set_name(server.name);
  out.set_blueprint_id(server.blueprint_id);
  out.set_host_id(server.host_id);
  out.set_port(server.port);
  out.set_desired_state(DesiredStateName(server.desired_state));
  out.set_actual_state(ServerStateName(server.actual_state));
  if (!server.status.empty()) {
    (void)google::protobuf::util::JsonStringToMessage(server.status, out.mutable_status());
  }
  if (server.status_at) *out.mutable_status_at() = ToTimestamp(*server.status_at);
  *out.mutable_created_at() = ToTimestamp(server.created_at);
  out.set_build(server.build);
  return out;
}

v1::Job ToApi(const Job& job) {
  v1::Job out;
  out.set_id(job.id);
  out.set_kind(job.kind);
  out.set_state(JobStateName(job.state));
  *out.mutable_params() = ToStruct(job.params);
  out.set_attempt(job.attempt);
  out.set_max_attempts(job.max_attempts);
  out.set_created_by(job.created_by);
  *out.mutable_created_at() = ToTimestamp(job.created_at);
  *out.mutable_not_before() = ToTimestamp(job.not_before);
  out.set_cancel_requested(job.cancel_requested);
  if (!job.result.empty()) *out.mutable_result() = ToStruct(job.result);
  if (!job.error.ok()) {
    out.mutable_error()->set_code(absl::StatusCodeToString(job.error.code()));
    out.mutable_error()->set_message(std::string(job.error.message()));
  }
  return out;
}

v1::JobEvent ToApi(const JobEvent& event) {
  v1::JobEvent out;
  out.set_seq(event.seq);
  *out.mutable_at() = ToTimestamp(event.at);
  out.set_kind(event.kind);
  // Progress events hold JSON; log lines and steps are text.
  google::protobuf::Value data;
  if (event.data.empty() || event.data.front() != '{' ||
      !google::protobuf::util::JsonStringToMessage(event.data, &data).ok()) {
    data.set_string_value(event.data);
  }
  *out.mutable_data() = std::move(data);
  return out;
}

v1::AuditEntry ToApi(const AuditEntry& entry) {
  v1::AuditEntry out;
  out.set_id(entry.id);
  *out.mutable_at() = ToTimestamp(entry.at);
  out.set_actor(entry.actor);
  out.set_action(entry.action);
  out.set_target(entry.target);
  *out.mutable_detail() = ToStruct(entry.detail);
  out.set_owner_id(entry.owner);
  return out;
}

google::protobuf::Duration ToDuration(absl::Duration duration) {
  return google::protobuf::util::TimeUtil::MicrosecondsToDuration(
      absl::ToInt64Microseconds(duration));
}

v1::MetricSample ToApi(const MetricSample& sample) {
  v1::MetricSample out;
  *out.mutable_at() = ToTimestamp(sample.at);
  out.set_players(sample.players);
  out.set_cpu_millis(sample.cpu_millis);
  out.set_memory_bytes(sample.memory_bytes);
  if (sample.latency > absl::ZeroDuration())
    *out.mutable_a2s_latency() = ToDuration(sample.latency);
  return out;
}

v1::ServerLive ToLive(const MetricSample& sample) {
  v1::ServerLive out;
  *out.mutable_at() = ToTimestamp(sample.at);
  out.set_players(sample.players);
  // Unset when not measured (no CPU or memory accounting for the unit: cgroup v1 hosts).
  if (sample.cpu_millis > 0) {
    *out.mutable_cpu_usage() = ToDuration(absl::Milliseconds(sample.cpu_millis));
  }
  out.set_memory_bytes(sample.memory_bytes);
  if (sample.latency > absl::ZeroDuration())
    *out.mutable_a2s_latency() = ToDuration(sample.latency);
  return out;
}

v1::LogLine ToApi(const agent::v1::LogLine& line) {
  v1::LogLine out;
  out.set_cursor(line.cursor());
  *out.mutable_time() = line.time();
  out.set_text(line.text());
  out.set_source(line.source());
  return out;
}

int64_t Fingerprint(const User& user) {
  return static_cast<int64_t>(absl::HashOf(user.id, user.username, static_cast<int>(user.role),
                                           user.disabled, user.created_at));
}

int64_t Fingerprint(const ApiToken& token) {
  return static_cast<int64_t>(absl::HashOf(token.id, token.user_id, token.name, token.scopes,
                                           token.created_at,
                                           token.last_used.value_or(absl::InfinitePast()),
                                           token.revoked_at.value_or(absl::InfinitePast())));
}

int64_t Fingerprint(const ListedHost& listed) {
  const Host& host = listed.host;
  std::vector<std::tuple<std::string, int, std::string>> unmanaged;
  for (const UnmanagedInstance& instance : host.unmanaged) {
    unmanaged.emplace_back(instance.name, instance.port, instance.state);
  }
  return static_cast<int64_t>(
      absl::HashOf(host.id, host.name, host.address, host.state, host.drained, host.disk_low,
                   host.max_instances, host.port_first, host.port_last, host.installed_build,
                   host.memory_bytes, host.last_seen.value_or(absl::InfinitePast()),
                   host.created_at, listed.server_count, host.ports_in_use, unmanaged));
}

v1::PlayerSession ToApi(const PlayerSession& session, const std::string& server_name,
                        absl::Time now) {
  v1::PlayerSession out;
  out.set_id(session.id);
  out.set_server_id(session.server_id);
  out.set_server_name(server_name);
  out.set_steam_id(session.steam_id);
  out.set_user_id(session.user_id);
  out.set_name(session.name);
  *out.mutable_joined_at() = ToTimestamp(session.joined);
  if (session.left) *out.mutable_left_at() = ToTimestamp(*session.left);
  out.set_reason(session.reason);
  out.set_seconds(
      std::max<int64_t>(0, absl::ToInt64Seconds(session.left.value_or(now) - session.joined)));
  return out;
}

v1::PlayerEvent ToApi(const PlayerTimelineEvent& event, const std::string& server_name) {
  v1::PlayerEvent out;
  out.set_id(event.id);
  out.set_server_id(event.server_id);
  out.set_server_name(server_name);
  *out.mutable_at() = ToTimestamp(event.at);
  out.set_kind(event.kind);
  out.set_steam_id(event.steam_id);
  out.set_name(event.name);
  out.set_text(event.text);
  return out;
}

v1::Player ToApi(const PlayerSummary& player) {
  v1::Player out;
  out.set_steam_id(player.steam_id);
  out.set_name(player.name);
  *out.mutable_first_seen_at() = ToTimestamp(player.first_seen);
  *out.mutable_last_seen_at() = ToTimestamp(player.last_seen);
  out.set_sessions(player.sessions);
  out.set_seconds_played(player.seconds);
  if (!player.profile.empty()) *out.mutable_profile() = ToApi(player.profile);
  return out;
}

v1::SteamProfile ToApi(const SteamProfile& profile) {
  v1::SteamProfile out;
  out.set_persona_name(profile.persona_name);
  out.set_avatar_url(profile.avatar_url);
  out.set_profile_url(profile.profile_url);
  return out;
}

}  // namespace l4d2::controller
