#include "agent/players/game_log_service.h"

#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "google/protobuf/util/time_util.h"

namespace l4d2::agent {
namespace {

constexpr size_t kPollBatch = 512;
// How long a trickle of packets gathers: the latency it adds to a join's event, the wakeups a
// second it saves (docs/benchmarks.md, PL1).
constexpr absl::Duration kGather = absl::Milliseconds(10);

void SetTime(google::protobuf::Timestamp* out, absl::Time at) {
  *out = google::protobuf::util::TimeUtil::NanosecondsToTimestamp(absl::ToUnixNanos(at));
}

void ToProto(const LivePlayer& live, v1::LivePlayer* out) {
  out->set_name(live.player.name);
  out->set_user_id(live.player.user_id);
  out->set_steam_id(live.player.steam_id);
  out->set_steam_id64(live.player.steam_id64);
  out->set_team(live.player.team);
  SetTime(out->mutable_joined(), live.joined);
}

v1::PlayerEvent::Kind KindOf(PlayerEvent::Kind kind) {
  switch (kind) {
    case PlayerEvent::Kind::kJoined:
      return v1::PlayerEvent::KIND_JOINED;
    case PlayerEvent::Kind::kLeft:
      return v1::PlayerEvent::KIND_LEFT;
    case PlayerEvent::Kind::kMapChanged:
      return v1::PlayerEvent::KIND_MAP_CHANGED;
    case PlayerEvent::Kind::kRestartRequired:
      return v1::PlayerEvent::KIND_RESTART_REQUIRED;
  }
  return v1::PlayerEvent::KIND_UNSPECIFIED;
}

}  // namespace

GameLogService::GameLogService(LogSocket& socket, Clock& clock, std::function<void()> on_events)
    : socket_(socket), clock_(clock), on_events_(std::move(on_events)) {}

GameLogService::~GameLogService() { Stop(); }

void GameLogService::SetSenders(const absl::flat_hash_map<std::string, LogSender>& senders) {
  absl::MutexLock lock(&mutex_);
  absl::erase_if(instances_, [&](const auto& entry) { return !senders.contains(entry.first); });
  by_port_.clear();
  for (const auto& [name, sender] : senders) {
    auto [it, added] = instances_.try_emplace(name);
    if (added) {
      last_epoch_ = std::max(last_epoch_ + 1, absl::ToUnixNanos(clock_.Now()));
      it->second.epoch = last_epoch_;
    }
    it->second.sender = sender;
    by_port_[sender.port] = name;
  }
}

void GameLogService::Apply(const LogPacket& packet, absl::Time at) {
  absl::MutexLock lock(&mutex_);
  (void)ApplyLocked(packet, at);
}

void GameLogService::AllowSources(absl::flat_hash_set<uint32_t> ips) {
  absl::MutexLock lock(&mutex_);
  sources_ = std::move(ips);
}

bool GameLogService::ApplyLocked(const LogPacket& packet, absl::Time at) {
  auto name = by_port_.find(packet.source_port);
  const bool local =
      sources_.empty() || (packet.source_ip >> 24) == 127 || sources_.contains(packet.source_ip);
  if (name == by_port_.end() || !local) {
    ++counters_.unknown_sender;
    return false;
  }
  Instance& instance = instances_.at(name->second);  // by_port_ names only instances_
  absl::StatusOr<absl::string_view> line = DecodeGameLogPacket(packet.data, instance.sender.secret);
  if (!line.ok()) {
    ++(absl::IsPermissionDenied(line.status()) ? counters_.refused : counters_.malformed);
    return false;
  }
  absl::StatusOr<GameLogEvent> event = ParseGameLogLine(*line);
  if (!event.ok()) {
    ++counters_.malformed;
    return false;
  }
  ++counters_.lines;
  const int64_t before = instance.tracker.last_seq();
  instance.tracker.Apply(*event, at);
  return instance.tracker.last_seq() != before;
}

void GameLogService::Poll(absl::Duration timeout) {
  // Only the polling thread touches the buffer (Start's, or a test's).
  if (absl::Status received = socket_.Receive(buffer_, kPollBatch, timeout); !received.ok()) {
    L4D2_LOG(WARNING) << "game log: " << received.message();
    clock_.SleepFor(timeout);
    return;
  }
  if (buffer_.empty()) return;
  const absl::Time at = clock_.Now();
  bool events = false;
  {
    absl::MutexLock lock(&mutex_);
    for (const LogPacket& packet : buffer_) events |= ApplyLocked(packet, at);
  }
  if (events && on_events_) on_events_();
  // A trickle: let the next packets gather rather than wake for each few (a wakeup and two
  // system calls cost more than the lines they bring).
  if (buffer_.size() < kPollBatch) clock_.SleepFor(kGather);
}

void GameLogService::Reconcile(const std::string& name, const RconStatus& status) {
  absl::MutexLock lock(&mutex_);
  auto it = instances_.find(name);
  if (it != instances_.end()) it->second.tracker.Reconcile(status, clock_.Now());
}

void GameLogService::EndSessions(const std::string& name, const std::string& reason) {
  {
    absl::MutexLock lock(&mutex_);
    auto it = instances_.find(name);
    if (it == instances_.end()) return;
    PlayerTracker& tracker = it->second.tracker;
    if (tracker.player_count() == 0 && !tracker.restart_required()) return;
    tracker.EndAll(clock_.Now(), reason);
  }
  if (on_events_) on_events_();
}

std::optional<v1::GameLogState> GameLogService::State(const std::string& name) const {
  absl::MutexLock lock(&mutex_);
  auto it = instances_.find(name);
  if (it == instances_.end()) return std::nullopt;
  const PlayerTracker& tracker = it->second.tracker;
  v1::GameLogState state;
  state.set_epoch(it->second.epoch);
  state.set_last_event(tracker.last_seq());
  state.set_map(tracker.map());
  state.set_restart_required(tracker.restart_required());
  state.set_players(static_cast<int32_t>(tracker.player_count()));
  return state;
}

absl::StatusOr<v1::ListPlayerEventsResponse> GameLogService::ListEvents(const std::string& name,
                                                                        int64_t epoch,
                                                                        int64_t after,
                                                                        int limit) const {
  if (limit < 1 || limit > 1000 || after < 0) {
    return absl::InvalidArgumentError("limit: 1 to 1000; after: 0 or more");
  }
  absl::MutexLock lock(&mutex_);
  auto it = instances_.find(name);
  if (it == instances_.end()) {
    return absl::NotFoundError(absl::StrCat(
        "instance '", name, "' sends no game log here (no such instance, or no log listener)"));
  }
  const PlayerTracker& tracker = it->second.tracker;
  v1::ListPlayerEventsResponse response;
  response.set_epoch(it->second.epoch);
  if (epoch != it->second.epoch) {
    response.set_reset(true);
    after = 0;
  }
  std::vector<PlayerEvent> events = tracker.EventsAfter(after, static_cast<size_t>(limit));
  response.set_truncated(!events.empty() && events.front().seq > after + 1 && !response.reset());
  if (events.empty() && tracker.last_seq() > after) response.set_truncated(true);
  for (const PlayerEvent& event : events) {
    v1::PlayerEvent* out = response.add_events();
    out->set_seq(event.seq);
    SetTime(out->mutable_at(), event.at);
    out->set_kind(KindOf(event.kind));
    if (event.kind == PlayerEvent::Kind::kJoined || event.kind == PlayerEvent::Kind::kLeft) {
      ToProto(LivePlayer{.player = event.player}, out->mutable_player());
      out->mutable_player()->clear_joined();
    }
    out->set_text(event.text);
  }
  response.set_last_event(tracker.last_seq());
  for (const LivePlayer& live : tracker.Players()) ToProto(live, response.add_players());
  response.set_map(tracker.map());
  response.set_restart_required(tracker.restart_required());
  return response;
}

std::optional<InstancePlayers> GameLogService::Players(const std::string& name) const {
  absl::MutexLock lock(&mutex_);
  auto it = instances_.find(name);
  if (it == instances_.end()) return std::nullopt;
  const PlayerTracker& tracker = it->second.tracker;
  return InstancePlayers{.players = tracker.Players(),
                         .map = tracker.map(),
                         .restart_required = tracker.restart_required(),
                         .last_seq = tracker.last_seq()};
}

std::vector<PlayerEvent> GameLogService::EventsAfter(const std::string& name, int64_t after,
                                                     size_t limit) const {
  absl::MutexLock lock(&mutex_);
  auto it = instances_.find(name);
  if (it == instances_.end()) return {};
  return it->second.tracker.EventsAfter(after, limit);
}

GameLogCounters GameLogService::counters() const {
  absl::MutexLock lock(&mutex_);
  return counters_;
}

void GameLogService::Start() {
  thread_ = std::thread([this] {
    while (true) {
      {
        absl::MutexLock lock(&mutex_);
        if (stopping_) return;
      }
      Poll(absl::Milliseconds(200));
    }
  });
}

void GameLogService::Stop() {
  {
    absl::MutexLock lock(&mutex_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

void AddGameLogState(const GameLogService& log, v1::Instance& instance) {
  if (std::optional<v1::GameLogState> state = log.State(instance.name())) {
    *instance.mutable_status()->mutable_log() = *std::move(state);
  }
}

void AddGameLogStates(const GameLogService& log, v1::ListInstancesResponse& list) {
  for (v1::Instance& instance : *list.mutable_instances()) AddGameLogState(log, instance);
}

}  // namespace l4d2::agent
