#include "agent/players/player_watch.h"

#include "agent/game/rcon_status.h"
#include "common/logging.h"

namespace l4d2::agent {

PlayerWatch::PlayerWatch(GameLogService& log, PlayerWatchSources sources, Clock& clock,
                         PlayerWatchOptions options)
    : log_(log), sources_(std::move(sources)), clock_(clock), options_(options) {}

PlayerWatch::~PlayerWatch() { Stop(); }

int PlayerWatch::Round() {
  absl::StatusOr<v1::ListInstancesResponse> list = sources_.instances();
  if (!list.ok()) {
    L4D2_LOG(WARNING) << "players: instances: " << list.status().message();
    return 0;
  }
  absl::flat_hash_map<std::string, LogSender> senders;
  absl::flat_hash_map<std::string, Known> known;
  for (const v1::Instance& instance : list->instances()) {
    Known& now = known[instance.name()];
    auto before = known_.find(instance.name());
    if (before != known_.end()) now = before->second;
    if (now.secret.empty()) {
      absl::StatusOr<std::string> secret = sources_.log_secret(instance.name());
      if (!secret.ok()) {
        L4D2_LOG(WARNING) << "players: '" << instance.name() << "': " << secret.status().message();
        known.erase(instance.name());
        continue;
      }
      now.secret = *secret;
    }
    senders[instance.name()] = {.port = instance.spec().port(), .secret = now.secret};
  }
  log_.SetSenders(senders);

  int asked = 0;
  for (const v1::Instance& instance : list->instances()) {
    auto it = known.find(instance.name());
    if (it == known.end()) continue;
    Known& now = it->second;
    const int32_t pid = instance.status().unit().main_pid();
    if (now.main_pid != 0 && now.main_pid != pid) {
      log_.EndSessions(instance.name(), pid == 0 ? "server stopped" : "server restarted");
      now.reconciled.reset();
    }
    now.main_pid = pid;
    const v1::GameStatus& game = instance.status().game();
    if (pid == 0 || !game.reachable()) continue;
    std::optional<v1::GameLogState> state = log_.State(instance.name());
    if (!state.has_value() || state->players() == game.players() - game.bots()) continue;
    const absl::Time at = clock_.Now();
    if (now.reconciled.has_value() && at - *now.reconciled < options_.reconcile_gap) continue;
    now.reconciled = at;
    ++asked;
    absl::StatusOr<std::string> reply = sources_.console(instance.name(), "status");
    if (!reply.ok()) {
      L4D2_LOG(WARNING) << "players: '" << instance.name()
                        << "': status: " << reply.status().message();
      continue;
    }
    log_.Reconcile(instance.name(), ParseRconStatus(*reply));
  }
  known_ = std::move(known);
  return asked;
}

void PlayerWatch::Nudge() {
  absl::MutexLock lock(&mutex_);
  nudged_ = true;
}

void PlayerWatch::Start() {
  thread_ = std::thread([this] {
    while (true) {
      {
        absl::MutexLock lock(&mutex_);
        auto woken = [this]() ABSL_SHARED_LOCKS_REQUIRED(mutex_) { return nudged_ || stopping_; };
        mutex_.AwaitWithTimeout(absl::Condition(&woken), options_.interval);
        if (stopping_) return;
        nudged_ = false;
      }
      Round();
    }
  });
}

void PlayerWatch::Stop() {
  {
    absl::MutexLock lock(&mutex_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

}  // namespace l4d2::agent
