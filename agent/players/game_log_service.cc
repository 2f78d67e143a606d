#include "agent/players/game_log_service.h"

#include "common/logging.h"

namespace l4d2::agent {
namespace {

constexpr size_t kPollBatch = 512;
// How long a trickle of packets gathers: the latency it adds to a join's event, the wakeups a
// second it saves (docs/benchmarks.md, PL1).
constexpr absl::Duration kGather = absl::Milliseconds(10);

}  // namespace

GameLogService::GameLogService(LogSocket& socket, Clock& clock) : socket_(socket), clock_(clock) {}

GameLogService::~GameLogService() { Stop(); }

void GameLogService::SetSenders(const absl::flat_hash_map<std::string, LogSender>& senders) {
  absl::MutexLock lock(&mutex_);
  absl::erase_if(instances_, [&](const auto& entry) { return !senders.contains(entry.first); });
  by_port_.clear();
  for (const auto& [name, sender] : senders) {
    instances_[name].sender = sender;
    by_port_[sender.port] = name;
  }
}

void GameLogService::Apply(const LogPacket& packet, absl::Time at) {
  absl::MutexLock lock(&mutex_);
  ApplyLocked(packet, at);
}

void GameLogService::ApplyLocked(const LogPacket& packet, absl::Time at) {
  auto name = by_port_.find(packet.source_port);
  if (name == by_port_.end()) {
    ++counters_.unknown_sender;
    return;
  }
  Instance& instance = instances_.at(name->second);  // by_port_ names only instances_
  absl::StatusOr<absl::string_view> line = DecodeGameLogPacket(packet.data, instance.sender.secret);
  if (!line.ok()) {
    ++(absl::IsPermissionDenied(line.status()) ? counters_.refused : counters_.malformed);
    return;
  }
  absl::StatusOr<GameLogEvent> event = ParseGameLogLine(*line);
  if (!event.ok()) {
    ++counters_.malformed;
    return;
  }
  ++counters_.lines;
  instance.tracker.Apply(*event, at);
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
  {
    absl::MutexLock lock(&mutex_);
    for (const LogPacket& packet : buffer_) ApplyLocked(packet, at);
  }
  // A trickle: let the next packets gather rather than wake for each few (a wakeup and two
  // system calls cost more than the lines they bring).
  if (buffer_.size() < kPollBatch) clock_.SleepFor(kGather);
}

void GameLogService::Reconcile(const std::string& name, const RconStatus& status) {
  absl::MutexLock lock(&mutex_);
  auto it = instances_.find(name);
  if (it != instances_.end()) it->second.tracker.Reconcile(status, clock_.Now());
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

}  // namespace l4d2::agent
