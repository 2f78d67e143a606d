#include "controller/api/event_sources.h"

#include "absl/container/flat_hash_set.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "common/clock.h"
#include "common/logging.h"
#include "controller/api/api_messages.h"
#include "google/protobuf/struct.pb.h"
#include "rpc/proto_json.h"

namespace l4d2::controller {
namespace {

// Server ids are stored ids; a topic name past its prefix is one.
std::string AfterPrefix(const std::string& topic, absl::string_view prefix) {
  return topic.substr(prefix.size());
}

}  // namespace

// One server's console follow: a log-following call on its agent, on its own thread, cancelled
// when nobody watches any more.
struct EventSources::ConsoleFollower final : public AgentCall {
  bool Attach(std::function<void()> cancel_call) override {
    absl::MutexLock lock(&mutex);
    if (stop) return false;
    cancel = std::move(cancel_call);
    return true;
  }
  void Detach() override {
    absl::MutexLock lock(&mutex);
    cancel = nullptr;
  }
  void Event(const std::string&, std::string) override {}
  // Ends the follow: the call in flight is cancelled and no other starts.
  void End() {
    absl::MutexLock lock(&mutex);
    stop = true;
    if (cancel) cancel();
  }
  bool Ended() {
    absl::MutexLock lock(&mutex);
    return stop;
  }

  std::string server_id;
  absl::Mutex mutex;
  std::function<void()> cancel ABSL_GUARDED_BY(mutex);  // of the call in flight
  bool stop ABSL_GUARDED_BY(mutex) = false;
  std::thread thread;
};

EventSources::EventSources(SseHub& hub, FleetStores& stores, AgentClient& agents,
                           EventSourceOptions options)
    : hub_(hub),
      stores_(stores),
      agents_(agents),
      options_(options),
      epoch_micros_(absl::ToUnixMicros(stores.clock.Now())) {}

EventSources::~EventSources() { Stop(); }

void EventSources::Start() {
  // The fleet stream starts at the log's present; older entries are replayed on request.
  absl::StatusOr<std::vector<AuditEntry>> newest = stores_.audit.List({.limit = 1});
  // "0" sorts before every id: an empty log is followed from its start.
  fleet_after_ = newest.ok() && !newest->empty() ? newest->front().id : "0";
  servers_since_ = stores_.clock.Now();
  players_after_ = stores_.players.LastEventId().value_or("");
  thread_ = std::thread([this] { Run(); });
}

void EventSources::Stop() {
  if (!thread_.joinable()) return;
  stop_.Notify();
  Wake();
  thread_.join();
  FollowConsoles({});
}

SseEvent EventSources::AuditEvent(const AuditEntry& entry) {
  return {.id = entry.id,
          .type = "audit",
          .data = ToJson(ToApi(entry)),
          .filtered = true,
          .owner = entry.owner,
          .actor = entry.actor};
}

SseEvent EventSources::JobStreamEvent(const JobEvent& event) {
  return {
      .id = absl::StrFormat("%016d", event.seq), .type = event.kind, .data = ToJson(ToApi(event))};
}

SseEvent EventSources::JobEndEvent(const Job& job, int64_t last_seq) {
  // After the job's last event and before any later one: "<seq>.end" sorts between them.
  return {.id = absl::StrFormat("%016d.end", last_seq), .type = "end", .data = ToJson(ToApi(job))};
}

int64_t EventSources::JobEventSeq(const std::string& id) {
  int64_t seq = -1;
  if (!absl::SimpleAtoi(id.substr(0, 16), &seq) || seq < 0) return -1;
  return seq;
}

void EventSources::Wake() {
  absl::MutexLock lock(&wake_mutex_);
  woken_ = true;
}

void EventSources::Run() {
  while (true) {
    {
      absl::MutexLock lock(&wake_mutex_);
      wake_mutex_.AwaitWithTimeout(absl::Condition(&woken_), options_.poll);
      woken_ = false;
    }
    if (stop_.HasBeenNotified()) return;
    std::vector<std::string> jobs, consoles;
    for (const std::string& topic : hub_.WatchedTopics()) {
      if (topic.rfind("job:", 0) == 0) jobs.push_back(topic);
      if (topic.rfind("console:", 0) == 0) consoles.push_back(topic);
    }
    PollFleet();
    PollPlayers();
    if (stores_.clock.Now() - servers_polled_ >= options_.server_poll) PollServers();
    PollJobs(jobs);
    FollowConsoles(consoles);
  }
}

void EventSources::PollFleet() {
  // Always, watched or not: the topic's history serves clients that resume.
  for (;;) {
    absl::StatusOr<std::vector<AuditEntry>> entries =
        stores_.audit.List({.after_id = fleet_after_, .limit = 1000});
    if (!entries.ok()) {
      L4D2_LOG(WARNING) << "event streams: audit log: " << entries.status().message();
      return;
    }
    for (const AuditEntry& entry : *entries) {
      hub_.Publish(kFleetTopic, AuditEvent(entry));
      fleet_after_ = entry.id;
    }
    if (entries->size() < 1000) return;
  }
}

void EventSources::PollPlayers() {
  for (;;) {
    absl::StatusOr<std::vector<PlayerTimelineEvent>> events =
        stores_.players.EventsAfter(players_after_, 1000);
    if (!events.ok()) {
      L4D2_LOG(WARNING) << "event streams: players: " << events.status().message();
      return;
    }
    for (const PlayerTimelineEvent& event : *events) {
      const std::string type = event.kind == "joined" ? "player_joined"
                               : event.kind == "left" ? "player_left"
                                                      : event.kind;
      hub_.Publish(kFleetTopic, {.type = type,
                                 .data = ToJson(ToApi(event, event.server_name)),
                                 .filtered = true,
                                 .owner = event.owner_id,
                                 .ephemeral = true});
      players_after_ = event.id;
    }
    if (events->size() < 1000) return;
  }
}

void EventSources::PollServers() {
  servers_polled_ = stores_.clock.Now();
  // Reports are written in the order they arrive, not of their observation times: look a few
  // seconds back, and publish only what differs from what was shown.
  absl::StatusOr<std::vector<Server>> changed =
      stores_.servers.StatusSince(servers_since_ - absl::Seconds(5));
  if (!changed.ok()) {
    L4D2_LOG(WARNING) << "event streams: servers: " << changed.status().message();
    return;
  }
  for (const Server& server : *changed) {
    if (server.status_at && *server.status_at > servers_since_) servers_since_ = *server.status_at;
    v1::Server api = ToApi(server);
    std::string shown = absl::StrCat(
        ServerStateName(server.actual_state), "/", server.players, "/", api.status().game().map(),
        "/", api.status().game().max_players(), "/", api.status().game().player_list_size());
    std::string& before = server_shown_[server.id];
    if (before == shown) continue;
    before = std::move(shown);
    hub_.Publish(kFleetTopic, {.type = "server",
                               .data = ToJson(api),
                               .filtered = true,
                               .owner = server.owner_id,
                               .ephemeral = true});
  }
}

void EventSources::PollJobs(const std::vector<std::string>& topics) {
  std::map<std::string, int64_t> still;
  for (const std::string& topic : topics) {
    const std::string job_id = AfterPrefix(topic, "job:");
    int64_t after = job_after_.count(topic) ? job_after_[topic] : 0;
    if (job_ended_[topic]) {
      still[topic] = after;
      continue;
    }
    // The job's state first: events written before it ended are all read below.
    absl::StatusOr<Job> job = stores_.jobs.Get(job_id);
    absl::StatusOr<std::vector<JobEvent>> events = stores_.jobs.Events(job_id, after, 1000);
    if (!job.ok() || !events.ok()) {
      still[topic] = after;
      continue;
    }
    for (const JobEvent& event : *events) {
      hub_.Publish(topic, JobStreamEvent(event));
      after = event.seq;
    }
    const bool ended = job->state == JobState::kSucceeded || job->state == JobState::kFailed ||
                       job->state == JobState::kCancelled;
    if (ended && events->size() < 1000) {
      hub_.Publish(topic, JobEndEvent(*job, after));
      job_ended_[topic] = true;
    }
    still[topic] = after;
  }
  job_after_ = std::move(still);
  for (auto it = job_ended_.begin(); it != job_ended_.end();) {
    it = job_after_.count(it->first) ? std::next(it) : job_ended_.erase(it);
  }
}

void EventSources::FollowConsoles(const std::vector<std::string>& topics) {
  std::vector<std::unique_ptr<ConsoleFollower>> ending;
  const absl::flat_hash_set<std::string> watched(topics.begin(), topics.end());
  {
    absl::MutexLock lock(&mutex_);
    for (auto it = consoles_.begin(); it != consoles_.end();) {
      if (watched.contains(ConsoleTopic(it->first))) {
        ++it;
        continue;
      }
      ending.push_back(std::move(it->second));
      consoles_.erase(it++);
    }
    // Where a console was left, kept while the hub keeps its topic (a viewer coming back
    // within the grace continues after the last line it was sent); then forgotten.
    for (auto it = console_seq_.begin(); it != console_seq_.end();) {
      if (consoles_.contains(it->first) || hub_.Keeps(ConsoleTopic(it->first))) {
        ++it;
        continue;
      }
      console_cursor_.erase(it->first);
      console_seq_.erase(it++);
    }
    for (const std::string& topic : topics) {
      const std::string server_id = AfterPrefix(topic, "console:");
      if (consoles_.contains(server_id)) continue;
      auto follower = std::make_unique<ConsoleFollower>();
      follower->server_id = server_id;
      ConsoleFollower* raw = follower.get();
      consoles_[server_id] = std::move(follower);
      raw->thread = std::thread([this, raw] { Follow(raw); });
    }
  }
  for (std::unique_ptr<ConsoleFollower>& follower : ending) {
    follower->End();
    follower->thread.join();
  }
}

void EventSources::Follow(ConsoleFollower* follower) {
  const std::string& server_id = follower->server_id;
  while (!follower->Ended()) {
    absl::StatusOr<Server> server = stores_.servers.Get(Actor::System(), server_id);
    absl::StatusOr<Host> host = absl::NotFoundError("not placed");
    if (server.ok() && !server->host_id.empty()) host = stores_.hosts.Get(server->host_id);
    if (host.ok()) {
      agent::v1::StreamLogsRequest request;
      request.set_name(server->name);
      request.set_follow(true);
      {
        absl::MutexLock lock(&mutex_);
        const std::string& cursor = console_cursor_[server_id];
        if (cursor.empty()) {
          request.set_lines(options_.console_history);
        } else {
          request.set_after_cursor(cursor);
        }
      }
      const absl::Status status = agents_.FollowLogs(
          *host, request,
          [&](const agent::v1::LogBatch& batch) {
            for (const agent::v1::LogLine& line : batch.lines()) {
              PublishConsole(server_id, "line", ToJson(ToApi(line)));
              absl::MutexLock lock(&mutex_);
              console_cursor_[server_id] = line.cursor();
            }
          },
          *follower);
      if (!status.ok() && !absl::IsCancelled(status)) {
        L4D2_LOG(INFO) << "console of server " << server_id << ": " << status.message();
      }
    }
    // The agent is away or the server not placed yet: try again while someone watches.
    const absl::Time until = stores_.clock.Now() + options_.agent_retry;
    while (stores_.clock.Now() < until && !follower->Ended()) {
      stores_.clock.SleepFor(absl::Milliseconds(50));
    }
  }
}

void EventSources::PublishConsole(const std::string& server_id, const std::string& type,
                                  const std::string& data) {
  // Numbered and published under one lock, so ids reach the hub in order (it drops any id
  // not above the topic's newest). Ids of a later controller process sort after this one's.
  absl::MutexLock lock(&mutex_);
  const int64_t seq = ++console_seq_[server_id];
  hub_.Publish(
      ConsoleTopic(server_id),
      {.id = absl::StrFormat("%016x-%012d", epoch_micros_, seq), .type = type, .data = data});
}

void EventSources::EchoCommand(const Server& server, const std::string& actor,
                               const std::string& command, const std::string& output) {
  google::protobuf::Struct echo;
  (*echo.mutable_fields())["actor"].set_string_value(actor);
  (*echo.mutable_fields())["command"].set_string_value(command);
  (*echo.mutable_fields())["output"].set_string_value(output);
  PublishConsole(server.id, "command", ToJson(echo));
}

}  // namespace l4d2::controller
