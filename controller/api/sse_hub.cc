#include "controller/api/sse_hub.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "common/clock.h"
#include "common/logging.h"
#include "controller/api/headers.h"

namespace l4d2::controller {
namespace {

// No newlines in a field that must stay on its line.
std::string OneLine(const std::string& text) {
  return absl::StrReplaceAll(text, {{"\r", " "}, {"\n", " "}});
}

std::string ResponseHead() {
  std::string head =
      "HTTP/1.1 200 OK\r\n"
      "Content-Type: text/event-stream; charset=utf-8\r\n"
      "Cache-Control: no-store\r\n"
      "Connection: close\r\n"
      "X-Accel-Buffering: no\r\n";
  for (const auto& [name, value] : SecurityHeaders())
    absl::StrAppend(&head, name, ": ", value, "\r\n");
  // Reconnect after 2 s; EventSource then sends Last-Event-ID itself.
  absl::StrAppend(&head, "\r\nretry: 2000\n\n");
  return head;
}

constexpr int kMaxIov = 64;

}  // namespace

std::string EncodeSseEvent(const SseEvent& event) {
  std::string frame;
  if (!event.id.empty()) absl::StrAppend(&frame, "id: ", OneLine(event.id), "\n");
  if (!event.type.empty()) absl::StrAppend(&frame, "event: ", OneLine(event.type), "\n");
  for (absl::string_view line : absl::StrSplit(event.data, '\n')) {
    absl::StrAppend(&frame, "data: ", absl::StripSuffix(line, "\r"), "\n");
  }
  frame += "\n";
  return frame;
}

struct SseHub::Client {
  int fd = -1;
  std::string topic;
  SseViewer viewer;
  std::string after_id;
  std::deque<std::shared_ptr<const std::string>> queue;
  size_t offset = 0;  // bytes of queue.front() already written
  size_t queued_bytes = 0;
  bool want_writable = false;
  bool dirty = false;  // queued frames to write at the end of the hub's batch
  bool cut = false;
  absl::Time cut_at;
  absl::Time last_write;
};

struct SseHub::Topic {
  std::deque<std::pair<SseEvent, std::shared_ptr<const std::string>>> history;
  std::string newest_id;
  std::vector<Client*> clients;
  absl::Time unwatched_since;  // while `clients` is empty
};

struct SseHub::Command {
  enum class Kind { kAttach, kPublish, kEnd } kind;
  int fd = -1;
  std::string topic;
  StreamRequest request;
  SseViewer viewer;
  SseEvent event;
};

SseHub::SseHub(SseLimits limits)
    : limits_(limits),
      epoll_fd_(epoll_create1(EPOLL_CLOEXEC)),
      wake_fd_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
  epoll_event wake{.events = EPOLLIN, .data = {.fd = wake_fd_}};
  epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &wake);
  thread_ = std::thread([this] { Run(); });
}

SseHub::~SseHub() {
  Shutdown();
  close(wake_fd_);
  close(epoll_fd_);
}

void SseHub::Shutdown() {
  {
    absl::MutexLock lock(&mutex_);
    if (stopping_) return;
    stopping_ = true;
  }
  uint64_t one = 1;
  (void)!write(wake_fd_, &one, sizeof(one));
  if (thread_.joinable()) thread_.join();
  std::vector<int> fds;
  for (auto& [fd, client] : clients_) fds.push_back(fd);
  for (int fd : fds) Close(*clients_.at(fd));
  absl::MutexLock lock(&mutex_);
  for (Command& command : inbox_) {
    if (command.kind == Command::Kind::kAttach) close(command.fd);
  }
  inbox_.clear();
}

absl::Status SseHub::Reserve(const std::string& user_id) {
  absl::MutexLock lock(&mutex_);
  if (stopping_) return absl::UnavailableError("shutting down");
  if (reserved_ >= limits_.max_clients) {
    return absl::ResourceExhaustedError("too many event streams on this controller");
  }
  int& mine = streams_per_user_[user_id];
  if (mine >= limits_.max_streams_per_user) {
    return absl::ResourceExhaustedError(
        absl::StrCat("at most ", limits_.max_streams_per_user, " event streams per user"));
  }
  ++mine;
  ++reserved_;
  return absl::OkStatus();
}

void SseHub::Unreserve(const std::string& user_id) {
  absl::MutexLock lock(&mutex_);
  auto it = streams_per_user_.find(user_id);
  if (it != streams_per_user_.end() && --it->second <= 0) streams_per_user_.erase(it);
  --reserved_;
}

void SseHub::Attach(int fd, StreamRequest request, SseViewer viewer) {
  {
    absl::MutexLock lock(&mutex_);
    if (!stopping_) {
      inbox_.push_back({.kind = Command::Kind::kAttach,
                        .fd = fd,
                        .request = std::move(request),
                        .viewer = std::move(viewer)});
      fd = -1;
    }
  }
  if (fd >= 0) {
    close(fd);
    return;
  }
  uint64_t one = 1;
  (void)!write(wake_fd_, &one, sizeof(one));
}

void SseHub::Publish(const std::string& topic, SseEvent event) {
  {
    absl::MutexLock lock(&mutex_);
    if (stopping_) return;
    inbox_.push_back({.kind = Command::Kind::kPublish, .topic = topic, .event = std::move(event)});
    // One wake-up for a burst: the hub thread takes the whole inbox at once.
    if (inbox_.size() > 1) return;
  }
  uint64_t one = 1;
  (void)!write(wake_fd_, &one, sizeof(one));
}

void SseHub::EndCredential(const std::string& credential) {
  if (credential.empty()) return;
  {
    absl::MutexLock lock(&mutex_);
    if (stopping_ || !credentials_.contains(credential)) return;
    // In the inbox before any event published after this call.
    inbox_.push_back({.kind = Command::Kind::kEnd, .topic = credential});
  }
  uint64_t one = 1;
  (void)!write(wake_fd_, &one, sizeof(one));
}

std::vector<SseViewer> SseHub::Viewers(const std::string& user_id) {
  std::vector<SseViewer> viewers;
  absl::MutexLock lock(&mutex_);
  for (const auto& [credential, entry] : credentials_) {
    if (user_id.empty() || entry.first.user_id == user_id) viewers.push_back(entry.first);
  }
  return viewers;
}

void SseHub::EndNow(const std::string& credential) {
  std::vector<Client*> ending;
  for (auto& [fd, client] : clients_) {
    if (client->viewer.credential == credential) ending.push_back(client.get());
  }
  static const std::string* ended = new std::string(EncodeSseEvent(
      {.type = "end", .data = R"({"message":"the credential of this stream was ended"})"}));
  for (Client* client : ending) {
    // Said once, if the socket takes it now; the stream ends either way.
    if (client->queue.empty()) {
      (void)!send(client->fd, ended->data(), ended->size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    }
    Close(*client);
  }
}

std::vector<std::string> SseHub::WatchedTopics() {
  absl::MutexLock lock(&mutex_);
  return watched_;
}

SseStats SseHub::Stats() {
  absl::MutexLock lock(&mutex_);
  return stats_;
}

void SseHub::Run() {
  std::vector<epoll_event> events(256);
  absl::Time next_tick = RealDeadline(absl::Seconds(1));
  for (;;) {
    const int timeout_ms =
        std::max<int64_t>(0, absl::ToInt64Milliseconds(RealTimeLeft(next_tick)) + 1);
    const int ready = epoll_wait(epoll_fd_, events.data(), static_cast<int>(events.size()),
                                 static_cast<int>(std::min<int64_t>(timeout_ms, 1000)));
    for (int i = 0; i < ready; ++i) {
      const int fd = events[i].data.fd;
      if (fd == wake_fd_) {
        uint64_t count = 0;
        (void)!read(wake_fd_, &count, sizeof(count));
        std::vector<Command> commands;
        {
          absl::MutexLock lock(&mutex_);
          if (stopping_) return;
          commands.swap(inbox_);
        }
        for (Command& command : commands) Apply(std::move(command));
        // One write per client for the whole batch: under load batches grow and the cost per
        // event falls, instead of one system call per event per client.
        std::vector<int> dirty;
        dirty.swap(dirty_);
        for (int dirty_fd : dirty) {
          auto client = clients_.find(dirty_fd);
          if (client != clients_.end()) {
            client->second->dirty = false;
            Flush(*client->second);
          }
        }
        continue;
      }
      auto it = clients_.find(fd);
      if (it == clients_.end()) continue;
      if (events[i].events & (EPOLLHUP | EPOLLERR)) {
        Close(*it->second);
      } else if (events[i].events & EPOLLOUT) {
        Flush(*it->second);
      }
    }
    const absl::Time now = Clock::Real().Now();
    if (now >= next_tick) {
      Heartbeat(now);
      next_tick = now + absl::Seconds(1);
    }
  }
}

void SseHub::Apply(Command command) {
  if (command.kind == Command::Kind::kAttach) {
    AttachNow(command.fd, std::move(command.request), std::move(command.viewer));
  } else if (command.kind == Command::Kind::kEnd) {
    EndNow(command.topic);
  } else {
    PublishNow(command.topic, std::move(command.event));
  }
}

void SseHub::AttachNow(int fd, StreamRequest request, SseViewer viewer) {
  auto owned = std::make_unique<Client>();
  Client& client = *owned;
  client.fd = fd;
  client.topic = request.topic;
  client.viewer = std::move(viewer);
  client.after_id = request.after_id;
  client.last_write = Clock::Real().Now();
  Topic* topic = &TopicNamed(client.topic);
  if (request.from_now && topic->newest_id > client.after_id) client.after_id = topic->newest_id;
  // Only errors and hang-ups (always reported), and writability while a queue waits: the read
  // side is shut below, so a client that goes is noticed at the next write (a heartbeat at
  // the latest), which fails.
  epoll_event interest{.events = 0, .data = {.fd = fd}};
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &interest) != 0) {
    L4D2_LOG(WARNING) << "event stream: epoll_ctl: " << strerror(errno);
    close(fd);
    Unreserve(client.viewer.user_id);
    return;
  }
  // Shutting the read side makes Pistache read end-of-stream on its own descriptor of the
  // socket: it forgets the connection and closes that descriptor, leaving the hub's duplicate
  // the only one (one descriptor per stream, and none of Pistache's per-connection state).
  // Nothing is sent to the client; the stream goes on.
  shutdown(fd, SHUT_RD);
  clients_[fd] = std::move(owned);
  topic->clients.push_back(&client);
  {
    absl::MutexLock lock(&mutex_);
    ++stats_.clients;
    if (topic->clients.size() == 1) watched_.push_back(client.topic);
    if (!client.viewer.credential.empty()) {
      auto& entry = credentials_[client.viewer.credential];
      entry.first = client.viewer;
      ++entry.second;
    }
  }
  Enqueue(client, std::make_shared<const std::string>(ResponseHead()));
  QueueBacklog(client, request, *topic);
  Flush(client);
}

void SseHub::QueueBacklog(Client& client, const StreamRequest& request, const Topic& topic) {
  std::vector<std::shared_ptr<const std::string>> owed;
  for (const SseEvent& event : request.replay) {
    owed.push_back(std::make_shared<const std::string>(EncodeSseEvent(event)));
    if (event.id > client.after_id) client.after_id = event.id;
  }
  for (const auto& [event, frame] : topic.history) {
    if (event.id <= client.after_id) continue;
    if (event.filtered && !client.viewer.admin && event.owner != client.viewer.user_id &&
        event.actor != "user:" + client.viewer.user_id) {
      continue;
    }
    owed.push_back(frame);
  }
  // The newest that fit half the client's bound: the other half is for live events.
  size_t first = owed.size();
  size_t bytes = 0;
  while (first > 0 && bytes + owed[first - 1]->size() <= limits_.max_buffered_bytes / 2) {
    bytes += owed[--first]->size();
  }
  if (first > 0) {
    Enqueue(client, std::make_shared<const std::string>(EncodeSseEvent(
                        {.type = "skipped",
                         .data = absl::StrCat(
                             R"({"skipped":)", first,
                             R"(,"message":"older events did not fit this stream; read them from )"
                             R"(the paged lists: job events, server logs, audit"})")})));
  }
  for (size_t i = first; i < owed.size(); ++i) Enqueue(client, owed[i]);
}

void SseHub::PublishNow(const std::string& topic_name, SseEvent event) {
  Topic* topic = &TopicNamed(topic_name);
  if (event.ephemeral) {
    PublishEphemeral(*topic, event);
    return;
  }
  if (!topic->newest_id.empty() && event.id <= topic->newest_id) return;
  topic->newest_id = event.id;
  auto frame = std::make_shared<const std::string>(EncodeSseEvent(event));
  const std::string actor_user = event.actor;
  for (Client* client : std::vector<Client*>(topic->clients)) {
    if (event.id <= client->after_id) continue;
    if (event.filtered && !client->viewer.admin && event.owner != client->viewer.user_id &&
        actor_user != "user:" + client->viewer.user_id) {
      continue;
    }
    Enqueue(*client, frame);
    MarkDirty(*client);
  }
  topic->history.emplace_back(std::move(event), std::move(frame));
  while (topic->history.size() > limits_.history_per_topic) topic->history.pop_front();
  absl::MutexLock lock(&mutex_);
  ++stats_.events_published;
}

void SseHub::PublishEphemeral(Topic& topic, const SseEvent& event) {
  std::shared_ptr<const std::string> frame;
  for (Client* client : std::vector<Client*>(topic.clients)) {
    if (event.filtered && !client->viewer.admin && event.owner != client->viewer.user_id) {
      continue;
    }
    if (!frame)
      frame = std::make_shared<const std::string>(
          EncodeSseEvent({.type = event.type, .data = event.data}));
    Enqueue(*client, frame);
    MarkDirty(*client);
  }
  absl::MutexLock lock(&mutex_);
  ++stats_.events_published;
}

void SseHub::MarkDirty(Client& client) {
  if (client.dirty) return;
  client.dirty = true;
  dirty_.push_back(client.fd);
}

void SseHub::Enqueue(Client& client, std::shared_ptr<const std::string> frame) {
  if (client.cut) return;
  if (client.queued_bytes + frame->size() > limits_.max_buffered_bytes) {
    // Keep a frame already half written (the stream must stay well formed), drop the rest,
    // and say why the stream ends.
    while (client.queue.size() > (client.offset > 0 ? 1u : 0u)) {
      client.queued_bytes -= client.queue.back()->size();
      client.queue.pop_back();
    }
    static const auto* overflow =
        new std::shared_ptr<const std::string>(std::make_shared<const std::string>(EncodeSseEvent(
            {.type = "overflow",
             .data = R"({"message":"the client fell too far behind; reconnect to resume"})"})));
    client.queue.push_back(*overflow);
    client.queued_bytes += (*overflow)->size();
    client.cut = true;
    client.cut_at = Clock::Real().Now();
    absl::MutexLock lock(&mutex_);
    ++stats_.clients_cut_off;
    return;
  }
  client.queued_bytes += frame->size();
  client.queue.push_back(std::move(frame));
}

bool SseHub::Flush(Client& client) {
  int64_t frames = 0;
  while (!client.queue.empty()) {
    iovec iov[kMaxIov];
    int count = 0;
    for (auto it = client.queue.begin(); it != client.queue.end() && count < kMaxIov;
         ++it, ++count) {
      const std::string& frame = **it;
      const size_t skip = count == 0 ? client.offset : 0;
      iov[count] = {.iov_base = const_cast<char*>(frame.data()) + skip,
                    .iov_len = frame.size() - skip};
    }
    msghdr message{};
    message.msg_iov = iov;
    message.msg_iovlen = count;
    const ssize_t sent = sendmsg(client.fd, &message, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (sent < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        WantWritable(client, true);
        break;
      }
      Close(client);
      return false;
    }
    client.last_write = Clock::Real().Now();
    size_t left = static_cast<size_t>(sent);
    while (left > 0) {
      const size_t rest = client.queue.front()->size() - client.offset;
      if (left < rest) {
        client.offset += left;
        client.queued_bytes -= left;
        left = 0;
      } else {
        left -= rest;
        client.queued_bytes -= rest;
        client.queue.pop_front();
        client.offset = 0;
        ++frames;
      }
    }
  }
  if (frames > 0) {
    absl::MutexLock lock(&mutex_);
    stats_.frames_sent += frames;
  }
  if (client.queue.empty()) {
    WantWritable(client, false);
    if (client.cut) {
      Close(client);
      return false;
    }
  }
  return true;
}

void SseHub::WantWritable(Client& client, bool want) {
  if (client.want_writable == want) return;
  client.want_writable = want;
  epoll_event interest{.events = want ? EPOLLOUT : 0u, .data = {.fd = client.fd}};
  epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, client.fd, &interest);
}

void SseHub::Close(Client& client) {
  const int fd = client.fd;
  epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
  // Both directions: Pistache, reading the same socket, sees the end and lets go too.
  shutdown(fd, SHUT_RDWR);
  close(fd);
  const std::string user = client.viewer.user_id;
  auto topic = topics_.find(client.topic);
  bool unwatched = false;
  if (topic != topics_.end()) {
    std::vector<Client*>& watchers = topic->second->clients;
    watchers.erase(std::remove(watchers.begin(), watchers.end(), &client), watchers.end());
    unwatched = watchers.empty();
    if (unwatched) topic->second->unwatched_since = Clock::Real().Now();
  }
  const std::string topic_name = client.topic;
  const std::string credential = client.viewer.credential;
  clients_.erase(fd);
  {
    absl::MutexLock lock(&mutex_);
    --stats_.clients;
    if (unwatched)
      watched_.erase(std::remove(watched_.begin(), watched_.end(), topic_name), watched_.end());
    if (auto it = credentials_.find(credential);
        it != credentials_.end() && --it->second.second <= 0) {
      credentials_.erase(it);
    }
  }
  Unreserve(user);
}

SseHub::Topic& SseHub::TopicNamed(const std::string& name) {
  std::unique_ptr<Topic>& topic = topics_[name];
  if (!topic) {
    topic = std::make_unique<Topic>();
    topic->unwatched_since = Clock::Real().Now();
    absl::MutexLock lock(&mutex_);
    kept_.insert(name);
    stats_.topics = static_cast<int64_t>(topics_.size());
  }
  return *topic;
}

void SseHub::ForgetIdleTopics(absl::Time now) {
  std::vector<std::string> forgotten;
  for (auto it = topics_.begin(); it != topics_.end();) {
    const Topic& topic = *it->second;
    if (topic.clients.empty() && it->first.find(':') != std::string::npos &&
        now - topic.unwatched_since > limits_.idle_topic_grace) {
      forgotten.push_back(it->first);
      topics_.erase(it++);
    } else {
      ++it;
    }
  }
  // Tables that emptied give their memory back too (a hash table never shrinks by itself).
  if (!forgotten.empty() && topics_.size() * 4 < topics_.capacity()) topics_.rehash(0);
  if (clients_.size() * 4 < clients_.capacity()) clients_.rehash(0);
  absl::MutexLock lock(&mutex_);
  if (watched_.size() * 4 < watched_.capacity()) watched_.shrink_to_fit();
  if (streams_per_user_.size() * 4 < streams_per_user_.capacity()) streams_per_user_.rehash(0);
  if (credentials_.size() * 4 < credentials_.capacity()) credentials_.rehash(0);
  for (const std::string& name : forgotten) kept_.erase(name);
  if (!forgotten.empty() && kept_.size() * 4 < kept_.capacity()) kept_.rehash(0);
  stats_.topics = static_cast<int64_t>(topics_.size());
}

bool SseHub::Keeps(const std::string& topic) {
  absl::MutexLock lock(&mutex_);
  return kept_.contains(topic);
}

void SseHub::Heartbeat(absl::Time now) {
  ForgetIdleTopics(now);
  static const auto* beat =
      new std::shared_ptr<const std::string>(std::make_shared<const std::string>(":\n\n"));
  std::vector<Client*> due, lingering;
  for (auto& [fd, client] : clients_) {
    // The read side is shut, so a client's end-of-stream raises no event: its TCP state tells
    // (CLOSE_WAIT: it has closed its side). Once a second, about a microsecond per stream.
    tcp_info info{};
    socklen_t length = sizeof(info);
    const bool gone = getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &length) == 0 &&
                      info.tcpi_state == TCP_CLOSE_WAIT;
    if (gone || (client->cut && now - client->cut_at > limits_.linger)) {
      lingering.push_back(client.get());
    } else if (client->queue.empty() && now - client->last_write >= limits_.heartbeat) {
      due.push_back(client.get());
    }
  }
  for (Client* client : lingering) Close(*client);
  for (Client* client : due) {
    Enqueue(*client, *beat);
    Flush(*client);
  }
}

}  // namespace l4d2::controller
