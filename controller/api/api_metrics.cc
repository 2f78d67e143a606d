#include "controller/api/api_metrics.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "common/status_macros.h"
#include "controller/store/fleet_counts.h"
#include "controller/store/player_history.h"

namespace l4d2::controller {
namespace {

// A label value, escaped as the text format wants.
std::string Label(const std::string& value) {
  return absl::StrCat(
      "\"", absl::StrReplaceAll(value, {{"\\", "\\\\"}, {"\"", "\\\""}, {"\n", "\\n"}}), "\"");
}

}  // namespace

ApiMetrics::ApiMetrics(Database& db, SseHub& hub, std::function<std::string()> more)
    : db_(db), hub_(hub), more_(std::move(more)) {}

void ApiMetrics::Observe(const std::string& method, const std::string& path, int status,
                         absl::Duration latency) {
  const double seconds = absl::ToDoubleSeconds(latency);
  absl::MutexLock lock(&mutex_);
  Series& series = series_[{method, path, status}];
  for (size_t i = 0; i < kBuckets.size(); ++i) {
    if (seconds <= kBuckets[i]) ++series.buckets[i];
  }
  ++series.count;
  series.sum += seconds;
}

absl::StatusOr<std::string> ApiMetrics::Render() {
  L4D2_ASSIGN_OR_RETURN(FleetCounts counts, CountFleet(db_));
  std::string out;
  absl::StrAppend(&out,
                  "# HELP l4d2_http_requests_total HTTP requests answered, by route and status.\n"
                  "# TYPE l4d2_http_requests_total counter\n");
  std::string histogram =
      "# HELP l4d2_http_request_duration_seconds Time to answer, by route.\n"
      "# TYPE l4d2_http_request_duration_seconds histogram\n";
  {
    absl::MutexLock lock(&mutex_);
    for (const auto& [key, series] : series_) {
      const auto& [method, path, status] = key;
      const std::string labels = absl::StrCat("method=", Label(method), ",route=", Label(path),
                                              ",status=\"", status, "\"");
      absl::StrAppend(&out, "l4d2_http_requests_total{", labels, "} ", series.count, "\n");
      for (size_t i = 0; i < kBuckets.size(); ++i) {
        absl::StrAppend(&histogram, "l4d2_http_request_duration_seconds_bucket{", labels, ",le=\"",
                        kBuckets[i], "\"} ", series.buckets[i], "\n");
      }
      absl::StrAppend(
          &histogram, "l4d2_http_request_duration_seconds_bucket{", labels, ",le=\"+Inf\"} ",
          series.count, "\n", "l4d2_http_request_duration_seconds_sum{", labels, "} ", series.sum,
          "\n", "l4d2_http_request_duration_seconds_count{", labels, "} ", series.count, "\n");
    }
  }
  out += histogram;
  absl::StrAppend(&out, "# HELP l4d2_hosts Hosts, by state.\n# TYPE l4d2_hosts gauge\n");
  for (const char* state : {"enrolling", "ready", "draining", "unreachable"}) {
    absl::StrAppend(&out, "l4d2_hosts{state=\"", state, "\"} ",
                    counts.hosts.count(state) ? counts.hosts.at(state) : 0, "\n");
  }
  absl::StrAppend(&out,
                  "# HELP l4d2_servers Servers, by desired and reported state.\n"
                  "# TYPE l4d2_servers gauge\n");
  for (const auto& [states, n] : counts.servers) {
    absl::StrAppend(&out, "l4d2_servers{desired=", Label(states.first),
                    ",actual=", Label(states.second), "} ", n, "\n");
  }
  absl::StrAppend(&out, "# HELP l4d2_jobs Jobs, by kind and state.\n# TYPE l4d2_jobs gauge\n");
  for (const auto& [key, n] : counts.jobs) {
    absl::StrAppend(&out, "l4d2_jobs{kind=", Label(key.first), ",state=", Label(key.second), "} ",
                    n, "\n");
  }
  const SseStats sse = hub_.Stats();
  absl::StrAppend(
      &out, "# HELP l4d2_players Players on running servers, as last reported.\n",
      "# TYPE l4d2_players gauge\nl4d2_players ", counts.players, "\n",
      "# HELP l4d2_users Users.\n# TYPE l4d2_users gauge\nl4d2_users ", counts.users, "\n",
      "# HELP l4d2_event_stream_clients Open event streams.\n",
      "# TYPE l4d2_event_stream_clients gauge\nl4d2_event_stream_clients ", sse.clients, "\n",
      "# HELP l4d2_event_stream_events_total Events published to streams.\n",
      "# TYPE l4d2_event_stream_events_total counter\nl4d2_event_stream_events_total ",
      sse.events_published, "\n",
      "# HELP l4d2_event_stream_frames_sent_total Event frames written to clients.\n",
      "# TYPE l4d2_event_stream_frames_sent_total counter\nl4d2_event_stream_frames_sent_total ",
      sse.frames_sent, "\n",
      "# HELP l4d2_event_stream_cut_off_total Clients cut off for falling behind.\n",
      "# TYPE l4d2_event_stream_cut_off_total counter\nl4d2_event_stream_cut_off_total ",
      sse.clients_cut_off, "\n");
  L4D2_ASSIGN_OR_RETURN(PlayerFigures players, CountPlayerFigures(db_));
  absl::StrAppend(
      &out,
      "# HELP l4d2_game_log_players Players in the game by the servers' logs, fleet-wide.\n"
      "# TYPE l4d2_game_log_players gauge\nl4d2_game_log_players ",
      players.players, "\n",
      "# HELP l4d2_server_players Players in the game on a server (servers with players).\n"
      "# TYPE l4d2_server_players gauge\n");
  for (const auto& [server_id, n] : players.players_by_server) {
    absl::StrAppend(&out, "l4d2_server_players{server_id=", Label(server_id), "} ", n, "\n");
  }
  absl::StrAppend(
      &out,
      "# HELP l4d2_player_sessions_started_total Player sessions started on the fleet's "
      "servers.\n# TYPE l4d2_player_sessions_started_total counter\n"
      "l4d2_player_sessions_started_total ",
      players.sessions_started, "\n",
      "# HELP l4d2_servers_update_required Servers Steam asked to restart for an update.\n"
      "# TYPE l4d2_servers_update_required gauge\nl4d2_servers_update_required ",
      players.update_required, "\n");
  if (more_) absl::StrAppend(&out, more_());
  return out;
}

}  // namespace l4d2::controller
