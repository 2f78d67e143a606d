#include "controller/fleet/player_feed.h"

#include "common/logging.h"

namespace l4d2::controller {

PlayerFeed::PlayerFeed(FleetStores& stores, const HostReportBook& book, AgentClient& agents,
                       PlayerFeedOptions options)
    : stores_(stores), book_(book), agents_(agents), options_(options) {}

PlayerFeed::~PlayerFeed() { Stop(); }

void PlayerFeed::Notify(const std::string& host_id) {
  absl::MutexLock lock(&mutex_);
  notified_.insert(host_id);
}

PlayerFeedCounters PlayerFeed::counters() const {
  absl::MutexLock lock(&mutex_);
  return counters_;
}

const std::string* PlayerFeed::ServerOf(const Host& host, const std::string& instance,
                                        bool refresh) {
  HostServers& known = servers_[host.id];
  auto it = known.by_instance.find(instance);
  if (it != known.by_instance.end()) return &it->second;
  const absl::Time now = stores_.clock.Now();
  if (!refresh || now - known.read < options_.servers_refresh) return nullptr;
  absl::StatusOr<std::vector<Server>> servers =
      stores_.servers.List(Actor::System(), {.host_id = host.id});
  if (!servers.ok()) return nullptr;
  known.read = now;
  known.by_instance.clear();
  for (const Server& server : *servers) known.by_instance[server.name] = server.id;
  it = known.by_instance.find(instance);
  return it == known.by_instance.end() ? nullptr : &it->second;
}

bool PlayerFeed::CatchUp(const Host& host, const std::string& server_id,
                         const std::string& instance, const agent::v1::GameLogState& log) {
  GameLogCursor& cursor = cursors_[server_id];
  bool& update_required = update_required_[server_id];
  bool recorded = false;
  for (int attempt = 0; attempt < 8; ++attempt) {
    if (cursor.epoch == log.epoch() && cursor.seq >= log.last_event() &&
        (recorded || update_required == log.restart_required())) {
      return recorded;
    }
    agent::v1::ListPlayerEventsRequest request;
    request.set_name(instance);
    request.set_epoch(cursor.epoch);
    request.set_after(cursor.seq);
    request.set_limit(options_.page);
    PlainAgentCall call;
    absl::StatusOr<agent::v1::ListPlayerEventsResponse> answer =
        agents_.ListPlayerEvents(host, request, call);
    {
      absl::MutexLock lock(&mutex_);
      ++counters_.calls;
      if (!answer.ok()) ++counters_.failures;
    }
    if (!answer.ok()) {
      L4D2_LOG(DEBUG) << "players: " << host.id << "/" << instance << ": "
                      << answer.status().message();
      return recorded;
    }
    absl::StatusOr<std::vector<PlayerTimelineEvent>> written =
        stores_.players.Record(server_id, cursor, *answer);
    if (absl::IsAborted(written.status())) {
      // Another controller recorded it: continue from where it left the cursor.
      absl::StatusOr<GameLogCursor> now = stores_.players.Cursor(server_id);
      absl::MutexLock lock(&mutex_);
      ++counters_.conflicts;
      if (!now.ok()) return recorded;
      cursor = *now;
      continue;
    }
    if (!written.ok()) {
      L4D2_LOG(WARNING) << "players: server " << server_id << ": " << written.status().message();
      absl::MutexLock lock(&mutex_);
      ++counters_.failures;
      return recorded;
    }
    {
      absl::MutexLock lock(&mutex_);
      counters_.events += static_cast<int64_t>(written->size());
    }
    if (!written->empty() && options_.recorded) options_.recorded();
    if (options_.joined) {
      std::vector<std::string> joined;
      for (const PlayerTimelineEvent& event : *written) {
        if (event.kind == "joined" && !event.steam_id.empty()) joined.push_back(event.steam_id);
      }
      if (!joined.empty()) options_.joined(joined);
    }
    recorded = true;
    update_required = answer->restart_required();
    cursor.epoch = answer->epoch();
    if (!answer->events().empty()) {
      cursor.seq = answer->events().rbegin()->seq();
    } else if (answer->reset()) {
      cursor.seq = 0;
    }
    // More than a page waiting, or events the agent no longer had (truncated): its newest.
    if (answer->events().empty() && answer->last_event() > cursor.seq) return recorded;
  }
  return recorded;
}

int PlayerFeed::Round(const absl::flat_hash_set<std::string>& host_ids) {
  absl::MutexLock lock(&round_mutex_);
  const absl::Time now = stores_.clock.Now();
  if (!cursors_loaded_) {
    absl::StatusOr<std::vector<ServerGameLog>> logs = stores_.players.GameLogs();
    if (!logs.ok()) return 0;
    for (const ServerGameLog& log : *logs) {
      cursors_[log.server_id] = log.cursor;
      update_required_[log.server_id] = log.update_required;
    }
    cursors_loaded_ = true;
  }
  const bool unknown_host = [&] {
    for (const std::string& id : host_ids) {
      if (!hosts_.contains(id)) return true;
    }
    return false;
  }();
  if (host_ids.empty() || unknown_host || now - hosts_read_ >= options_.servers_refresh) {
    absl::StatusOr<std::vector<Host>> hosts = stores_.hosts.List();
    if (hosts.ok()) {
      hosts_.clear();
      for (Host& host : *hosts) hosts_[host.id] = std::move(host);
      hosts_read_ = now;
    }
  }
  int updated = 0;
  for (const auto& [id, host] : hosts_) {
    if (!host_ids.empty() && !host_ids.contains(id)) continue;
    std::optional<ReceivedReport> report = book_.Latest(id, now - options_.freshness);
    if (!report.has_value()) continue;
    for (const agent::v1::Instance& instance : report->report.instances()) {
      if (!instance.status().has_log()) continue;
      const agent::v1::GameLogState& log = instance.status().log();
      const std::string* server_id = ServerOf(host, instance.name(), /*refresh=*/true);
      if (server_id == nullptr) continue;  // unmanaged, or not placed here yet
      auto cursor = cursors_.find(*server_id);
      auto flag = update_required_.find(*server_id);
      if (cursor != cursors_.end() && cursor->second.epoch == log.epoch() &&
          cursor->second.seq >= log.last_event() && flag != update_required_.end() &&
          flag->second == log.restart_required()) {
        continue;
      }
      if (CatchUp(host, *server_id, instance.name(), log)) ++updated;
    }
  }
  return updated;
}

void PlayerFeed::Start() {
  thread_ = std::thread([this] {
    absl::Time full_round = absl::InfinitePast();
    while (true) {
      absl::flat_hash_set<std::string> hosts;
      {
        absl::MutexLock lock(&mutex_);
        auto woken = [this]() ABSL_SHARED_LOCKS_REQUIRED(mutex_) {
          return !notified_.empty() || stopping_;
        };
        mutex_.AwaitWithTimeout(absl::Condition(&woken), options_.interval);
        if (stopping_) return;
        hosts.swap(notified_);
      }
      const absl::Time now = stores_.clock.Now();
      if (now - full_round >= options_.interval) {
        full_round = now;
        Round();
      } else {
        Round(hosts);
      }
    }
  });
}

void PlayerFeed::Stop() {
  {
    absl::MutexLock lock(&mutex_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

}  // namespace l4d2::controller
