#pragma once

// What feeds the event streams (sse_hub.h), one feed per topic however many clients watch:
//   "fleet"               the audit log, tailed from the database every poll interval, so
//                         every controller on the database streams every controller's changes;
//                         events are filtered per viewer (operators see their objects' entries);
//                         and, without ids (never replayed), `server` events: a server whose
//                         state, map or players changed, found by its status time every second;
//                         and the player history's events as they are recorded (every poll):
//                         `player_joined`, `player_left`, `map_changed`, `update_required`;
//   "job:<id>"            one job's event log, tailed while someone watches, then an "end"
//                         event with the job's final state;
//   "console:<server>"    one server's console: a StreamLogs follow on its agent while someone
//                         watches (the newest lines first, so a new viewer sees recent output),
//                         and the console commands sent through this controller, with who sent
//                         them and their output.
// Event ids increase within a topic: audit ids, zero-padded job event sequence numbers, and for
// consoles this process's start time and a counter. Thread-safe.

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "controller/api/route.h"
#include "controller/api/sse_hub.h"
#include "controller/jobs/agent_client.h"
#include "controller/store/fleet_stores.h"
#include "l4d2/controller/v1/api.pb.h"

namespace l4d2::controller {

struct EventSourceOptions {
  absl::Duration poll = absl::Milliseconds(200);
  // Console lines a newly watched server starts with.
  int console_history = 200;
  absl::Duration agent_retry = absl::Seconds(2);
  // How often servers' new statuses are looked for (the live `server` events).
  absl::Duration server_poll = absl::Seconds(1);
};

class EventSources {
 public:
  // Everything must outlive the sources.
  EventSources(SseHub& hub, FleetStores& stores, AgentClient& agents,
               EventSourceOptions options = {});
  EventSources(const EventSources&) = delete;
  EventSources& operator=(const EventSources&) = delete;
  ~EventSources();

  void Start();
  void Stop();

  // Something to publish was just written (player events this controller recorded): the next
  // poll runs now rather than at the interval.
  void Wake();

  // Publishes a console command sent through the API, with its sender and output.
  void EchoCommand(const Server& server, const std::string& actor, const std::string& command,
                   const std::string& output);

  static std::string JobTopic(const std::string& job_id) { return "job:" + job_id; }
  static std::string ConsoleTopic(const std::string& server_id) { return "console:" + server_id; }
  static constexpr char kFleetTopic[] = "fleet";

  // The stream events of the audit log and of a job's log.
  static SseEvent AuditEvent(const AuditEntry& entry);
  static SseEvent JobStreamEvent(const JobEvent& event);
  static SseEvent JobEndEvent(const Job& job, int64_t last_seq);
  // The sequence number a job stream's event id stands for (-1 when it is none).
  static int64_t JobEventSeq(const std::string& id);

 private:
  struct ConsoleFollower;

  void Run();
  void PollFleet();
  void PollServers();
  void PollPlayers();
  void PollJobs(const std::vector<std::string>& topics);
  void FollowConsoles(const std::vector<std::string>& topics);
  void PublishConsole(const std::string& server_id, const std::string& type,
                      const std::string& data);
  void Follow(ConsoleFollower* follower);

  SseHub& hub_;
  FleetStores& stores_;
  AgentClient& agents_;
  const EventSourceOptions options_;
  const int64_t epoch_micros_;

  std::string fleet_after_ = "0";             // the newest audit id published (Run's thread only)
  std::map<std::string, int64_t> job_after_;  // per watched job: the last seq published
  std::map<std::string, bool> job_ended_;
  // The live server events (Run's thread only): statuses observed after this were not looked
  // at yet; what each server was last published as (state, map, players).
  absl::Time servers_since_;
  std::string players_after_;  // the newest player event published (Run's thread only)
  absl::Time servers_polled_ = absl::InfinitePast();
  std::map<std::string, std::string> server_shown_;

  absl::Mutex mutex_;
  // Per server: its console's follower while watched; the last event number and agent cursor
  // while the hub keeps the topic.
  absl::flat_hash_map<std::string, std::unique_ptr<ConsoleFollower>> consoles_
      ABSL_GUARDED_BY(mutex_);
  absl::flat_hash_map<std::string, int64_t> console_seq_ ABSL_GUARDED_BY(mutex_);
  absl::flat_hash_map<std::string, std::string> console_cursor_ ABSL_GUARDED_BY(mutex_);

  absl::Notification stop_;
  absl::Mutex wake_mutex_;
  bool woken_ ABSL_GUARDED_BY(wake_mutex_) = false;
  std::thread thread_;
};

}  // namespace l4d2::controller
