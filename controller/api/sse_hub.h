#pragma once

// Server-Sent Events for many clients at once (docs/architecture.md, "Event streams").
//
// Pistache 0.0.5 cannot flush a streaming response from a thread other than its reactor's,
// and its own write queue has no bound, so a slow client would grow it without limit. The
// hub therefore takes event-stream connections over: the route handler hands it a duplicate
// of the connection's socket, and from then on only the hub writes to it, from its one
// thread, non-blocking, with epoll. The hub shuts the socket's read side (an EventSource sends
// nothing more): Pistache reads end-of-stream, forgets the connection and closes its own
// descriptor, so a stream costs one descriptor and no Pistache state. A client that goes is
// noticed within a second from its connection's TCP state (or when a write fails).
//
// Each topic ("fleet", "job:<id>", "console:<server>") keeps its newest events in a ring; an
// event is encoded once and shared by every client's queue. A client whose queue passes its
// bound is cut off: its queue is dropped, a final "overflow" event is sent, and the connection
// closed, so one slow client never holds the others or memory. What a client is owed when it
// attaches (history, a replay) is trimmed to the newest events that fit half its bound, after
// a "skipped" event saying how many older ones were left out, so attaching always works. A
// stream ends when the credential that opened it is ended (EndCredential). Clients that have been
// sent nothing for a while get a heartbeat comment. Thread-safe; publishing never blocks on a
// client.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "controller/api/route.h"

namespace l4d2::controller {

struct SseLimits {
  // Bytes queued for one client before it is cut off.
  size_t max_buffered_bytes = 256 << 10;
  int max_streams_per_user = 16;
  int max_clients = 20000;
  absl::Duration heartbeat = absl::Seconds(15);
  // Events each topic keeps for clients that join or resume late.
  size_t history_per_topic = 1000;
  // How long a cut-off client has to take its final event before it is closed anyway.
  absl::Duration linger = absl::Seconds(5);
  // A topic of one object ("job:<id>", "console:<server>": a name with a ':') that nobody has
  // watched for this long is forgotten with its history, so that streams opened and closed on
  // thousands of servers leave nothing behind. A viewer coming later starts afresh (the
  // sources replay a job's log from the database, a console's newest lines from its agent).
  // Topics without a ':' ("fleet") are kept for the process's life.
  absl::Duration idle_topic_grace = absl::Seconds(30);
};

struct SseStats {
  int64_t clients = 0;
  int64_t events_published = 0;
  int64_t frames_sent = 0;
  int64_t clients_cut_off = 0;
  int64_t topics = 0;  // kept, watched or not
};

// Who watches a stream, and with what credential it was opened (the authenticator's key for
// it, kept in memory only: "" for none). Ending a credential ends its streams.
struct SseViewer {
  std::string user_id;
  bool admin = false;
  std::string credential;
};

class SseHub {
 public:
  explicit SseHub(SseLimits limits = {});
  SseHub(const SseHub&) = delete;
  SseHub& operator=(const SseHub&) = delete;
  ~SseHub();

  // Reserves one of the viewer's streams before its connection is taken over.
  // RESOURCE_EXHAUSTED past the per-user cap or the hub's client cap.
  absl::Status Reserve(const std::string& user_id);
  void Unreserve(const std::string& user_id);

  // Takes `fd` (owned from here on, closed by the hub) with a reservation made for the viewer:
  // writes the response head, the replay, the topic's recent events after request.after_id,
  // then live events.
  void Attach(int fd, StreamRequest request, SseViewer viewer);

  // Sends `event` to the topic's clients and keeps it in the topic's history. Events whose id
  // is not above the topic's newest are dropped (sources may repeat themselves after a
  // restart).
  void Publish(const std::string& topic, SseEvent event);

  // Ends every stream opened with `credential` (SseViewer::credential): no event published
  // after this call reaches them. Streams attaching later with it are not affected (the
  // caller makes sure the credential no longer authorizes).
  void EndCredential(const std::string& credential);
  // The distinct credentials with open streams, each with its viewer; of one user, or of
  // everyone when `user_id` is empty.
  std::vector<SseViewer> Viewers(const std::string& user_id = "");

  // Topics with at least one client: sources follow only these.
  std::vector<std::string> WatchedTopics();
  // Whether the hub still keeps the topic (watched, or within its idle grace): a source keeps
  // its place in a topic (a console's cursor) while it does.
  bool Keeps(const std::string& topic);
  SseStats Stats();

  void Shutdown();

 private:
  struct Client;
  struct Topic;
  struct Command;

  void Run();
  void Apply(Command command);
  void AttachNow(int fd, StreamRequest request, SseViewer viewer);
  // Queues what a client attaching is owed (replay, then history after its id): the newest
  // that fit half its buffer, after a "skipped" event when older ones did not.
  void QueueBacklog(Client& client, const StreamRequest& request, const Topic& topic);
  void EndNow(const std::string& credential);
  void PublishNow(const std::string& topic, SseEvent event);
  void PublishEphemeral(Topic& topic, const SseEvent& event);
  // Queues a frame; cuts the client off when it is over its bound.
  void Enqueue(Client& client, std::shared_ptr<const std::string> frame);
  // Writes the client's queue once the current batch of commands is applied.
  void MarkDirty(Client& client);
  // Writes what the socket takes; false when the client is gone (closed by then).
  bool Flush(Client& client);
  void Close(Client& client);
  void Heartbeat(absl::Time now);
  // The topic, made (and kept) when new.
  Topic& TopicNamed(const std::string& name);
  // Forgets topics of one object unwatched for longer than the idle grace.
  void ForgetIdleTopics(absl::Time now);
  void WantWritable(Client& client, bool want);

  const SseLimits limits_;
  const int epoll_fd_;
  const int wake_fd_;

  absl::Mutex mutex_;
  std::vector<Command> inbox_ ABSL_GUARDED_BY(mutex_);
  absl::flat_hash_map<std::string, int> streams_per_user_ ABSL_GUARDED_BY(mutex_);
  int reserved_ ABSL_GUARDED_BY(mutex_) = 0;
  std::vector<std::string> watched_ ABSL_GUARDED_BY(mutex_);
  absl::flat_hash_set<std::string> kept_ ABSL_GUARDED_BY(mutex_);
  // Open streams by credential: its viewer and how many.
  absl::flat_hash_map<std::string, std::pair<SseViewer, int>> credentials_ ABSL_GUARDED_BY(mutex_);
  SseStats stats_ ABSL_GUARDED_BY(mutex_);
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;

  // The hub thread's own state.
  absl::flat_hash_map<int, std::unique_ptr<Client>> clients_;
  absl::flat_hash_map<std::string, std::unique_ptr<Topic>> topics_;
  std::vector<int> dirty_;  // clients with frames queued in this batch
  std::thread thread_;
};

// The frame of one event: "id:", "event:" and "data:" lines and a blank line.
std::string EncodeSseEvent(const SseEvent& event);

}  // namespace l4d2::controller
