// The SSE hub over socket pairs: frames, history for late and resuming clients, per-viewer
// filtering, heartbeats, and a slow client cut off with a final marker while the others get
// everything.

#include "controller/api/sse_hub.h"

#include <fcntl.h>
#include <malloc.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/eventually.h"

namespace l4d2::controller {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// The client's end of a connection the hub writes to.
class Peer {
 public:
  // The hub's end, non-blocking like a Pistache connection.
  int TakeServerEnd() {
    int ends[2];
    EXPECT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ends), 0);
    fd_ = ends[0];
    fcntl(ends[1], F_SETFL, O_NONBLOCK);
    return ends[1];
  }
  ~Peer() {
    if (fd_ >= 0) close(fd_);
  }
  // Reads what has arrived within `timeout`; false once the hub closed.
  bool Read(absl::Duration timeout = absl::Milliseconds(200)) {
    pollfd ready{.fd = fd_, .events = POLLIN};
    if (poll(&ready, 1, static_cast<int>(absl::ToInt64Milliseconds(timeout))) <= 0) return true;
    char buffer[65536];
    ssize_t n = read(fd_, buffer, sizeof(buffer));
    if (n <= 0) return false;
    text_.append(buffer, n);
    return true;
  }
  bool WaitFor(const std::string& what) {
    return l4d2::testing::Eventually([&] {
      Read(absl::Milliseconds(20));
      return text_.find(what) != std::string::npos;
    });
  }
  void ShrinkReceiveBuffer() {
    int size = 4096;
    setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
  }
  const std::string& text() const { return text_; }

 private:
  int fd_ = -1;
  std::string text_;
};

SseEvent Event(int n, const std::string& data = "{}") {
  return {.id = absl::StrFormat("%08d", n), .type = "test", .data = data};
}

TEST(SseEncodingTest, FramesHaveIdTypeAndOneDataLinePerLine) {
  EXPECT_EQ(EncodeSseEvent({.id = "7", .type = "log", .data = "a\nb"}),
            "id: 7\nevent: log\ndata: a\ndata: b\n\n");
  // A newline smuggled into an id or type cannot start a new field.
  EXPECT_EQ(EncodeSseEvent({.id = "1\nevent: x", .type = "t\r\n", .data = "{}"}),
            "id: 1 event: x\nevent: t  \ndata: {}\n\n");
}

TEST(SseHubTest, ClientsGetTheHeadHistoryAfterTheirIdAndLiveEvents) {
  SseHub hub;
  for (int i = 1; i <= 5; ++i) hub.Publish("t", Event(i));
  Peer late, fresh;
  ASSERT_TRUE(hub.Reserve("u").ok());
  hub.Attach(late.TakeServerEnd(), {.topic = "t", .after_id = Event(3).id}, {.user_id = "u"});
  ASSERT_TRUE(hub.Reserve("u").ok());
  hub.Attach(fresh.TakeServerEnd(), {.topic = "t", .from_now = true}, {.user_id = "u"});
  ASSERT_TRUE(late.WaitFor("id: 00000005\n"));
  EXPECT_THAT(late.text(), HasSubstr("HTTP/1.1 200 OK\r\n"));
  EXPECT_THAT(late.text(), HasSubstr("id: 00000004\n"));
  EXPECT_THAT(late.text(), Not(HasSubstr("id: 00000003\n")));
  hub.Publish("t", Event(6));
  hub.Publish("t", Event(6));  // a repeat is dropped
  hub.Publish("other", Event(7));
  ASSERT_TRUE(fresh.WaitFor("id: 00000006\n"));
  ASSERT_TRUE(late.WaitFor("id: 00000006\n"));
  EXPECT_THAT(fresh.text(), Not(HasSubstr("id: 00000005\n")));
  fresh.Read();
  EXPECT_EQ(fresh.text().find("id: 00000006\n"), fresh.text().rfind("id: 00000006\n"));
  EXPECT_THAT(fresh.text(), Not(HasSubstr("00000007")));
  EXPECT_EQ(hub.Stats().clients, 2);
  EXPECT_THAT(hub.WatchedTopics(), ::testing::ElementsAre("t"));
}

TEST(SseHubTest, FilteredEventsReachAdminsOwnersAndActorsOnly) {
  SseHub hub;
  Peer admin, alice, bob;
  for (const char* user : {"admin", "alice", "bob"}) ASSERT_TRUE(hub.Reserve(user).ok());
  hub.Attach(admin.TakeServerEnd(), {.topic = "fleet"}, {.user_id = "admin", .admin = true});
  hub.Attach(alice.TakeServerEnd(), {.topic = "fleet"}, {.user_id = "alice"});
  hub.Attach(bob.TakeServerEnd(), {.topic = "fleet"}, {.user_id = "bob"});
  hub.Publish("fleet", {.id = "1", .data = "alice's", .filtered = true, .owner = "alice"});
  hub.Publish("fleet", {.id = "2", .data = "bob did", .filtered = true, .actor = "user:bob"});
  hub.Publish("fleet", {.id = "3", .data = "the end", .filtered = false});
  ASSERT_TRUE(admin.WaitFor("the end"));
  ASSERT_TRUE(alice.WaitFor("the end"));
  ASSERT_TRUE(bob.WaitFor("the end"));
  EXPECT_THAT(admin.text(), HasSubstr("alice's"));
  EXPECT_THAT(admin.text(), HasSubstr("bob did"));
  EXPECT_THAT(alice.text(), HasSubstr("alice's"));
  EXPECT_THAT(alice.text(), Not(HasSubstr("bob did")));
  EXPECT_THAT(bob.text(), Not(HasSubstr("alice's")));
  EXPECT_THAT(bob.text(), HasSubstr("bob did"));
}

TEST(SseHubTest, ASlowClientIsCutOffWithAMarkerAndNeverSlowsTheOthers) {
  SseHub hub({.max_buffered_bytes = 64 << 10});
  Peer slow, fast;
  ASSERT_TRUE(hub.Reserve("slow").ok());
  ASSERT_TRUE(hub.Reserve("fast").ok());
  slow.ShrinkReceiveBuffer();
  hub.Attach(slow.TakeServerEnd(), {.topic = "t"}, {.user_id = "slow"});
  hub.Attach(fast.TakeServerEnd(), {.topic = "t"}, {.user_id = "fast"});
  const std::string payload(1000, 'x');
  // The fast client takes each burst as it comes; the slow one reads nothing, and the
  // publisher never waits for it.
  for (int i = 1; i <= 2000; ++i) {
    hub.Publish("t", Event(i, payload));
    if (i % 20 == 0) {
      ASSERT_TRUE(fast.WaitFor(absl::StrFormat("id: %08d\n", i)));
    }
  }
  for (int i = 1; i <= 2000; ++i) {
    ASSERT_THAT(fast.text(), HasSubstr(absl::StrFormat("id: %08d\n", i))) << i;
  }
  EXPECT_EQ(hub.Stats().clients_cut_off, 1);
  // The slow client, reading at last, finds the marker after some events, then the end.
  while (slow.Read(absl::Milliseconds(500))) {
  }
  EXPECT_THAT(slow.text(), HasSubstr("event: overflow\n"));
  EXPECT_THAT(slow.text(), Not(HasSubstr("id: 00002000\n")));
  EXPECT_TRUE(l4d2::testing::Eventually([&] { return hub.Stats().clients == 1; }));
  // Its stream was given back.
  EXPECT_TRUE(l4d2::testing::Eventually([&] { return hub.Reserve("slow").ok(); }));
}

TEST(SseHubTest, IdleClientsGetHeartbeatsAndClosedOnesAreForgotten) {
  SseHub hub({.heartbeat = absl::Milliseconds(100)});
  Peer idle;
  ASSERT_TRUE(hub.Reserve("u").ok());
  {
    Peer gone;
    ASSERT_TRUE(hub.Reserve("u").ok());
    hub.Attach(gone.TakeServerEnd(), {.topic = "t"}, {.user_id = "u"});
    hub.Attach(idle.TakeServerEnd(), {.topic = "t"}, {.user_id = "u"});
    ASSERT_TRUE(gone.WaitFor("retry:"));
  }
  EXPECT_TRUE(l4d2::testing::Eventually([&] { return hub.Stats().clients == 1; }));
  ASSERT_TRUE(idle.WaitFor(":\n\n"));
}

TEST(SseHubTest, ReservationsAreCappedPerUserAndInAll) {
  SseHub hub({.max_streams_per_user = 2, .max_clients = 3});
  EXPECT_TRUE(hub.Reserve("a").ok());
  EXPECT_TRUE(hub.Reserve("a").ok());
  EXPECT_EQ(hub.Reserve("a").code(), absl::StatusCode::kResourceExhausted);
  EXPECT_TRUE(hub.Reserve("b").ok());
  EXPECT_EQ(hub.Reserve("c").code(), absl::StatusCode::kResourceExhausted);
  hub.Unreserve("a");
  EXPECT_TRUE(hub.Reserve("c").ok());
}

}  // namespace
}  // namespace l4d2::controller

namespace l4d2::controller {
namespace {

// A late viewer of a busy topic (history far over its buffer) still gets the head, a
// "skipped" event saying how many older events were left out, the newest events that fit,
// and then every live one: attaching never loses the head.
TEST(SseHubTest, ABacklogOverTheBufferIsTrimmedToTheNewestWithASkippedEvent) {
  SseHub hub({.max_buffered_bytes = 8192, .history_per_topic = 1000});
  const std::string line(100, 'x');
  for (int i = 1; i <= 1000; ++i) hub.Publish("console", Event(i, R"({"text":")" + line + R"("})"));
  Peer viewer;
  ASSERT_TRUE(hub.Reserve("u").ok());
  hub.Attach(viewer.TakeServerEnd(), {.topic = "console"}, {.user_id = "u"});
  ASSERT_TRUE(viewer.WaitFor("id: 00001000\n"));
  EXPECT_THAT(viewer.text(), ::testing::StartsWith("HTTP/1.1 200 OK\r\n"));
  EXPECT_THAT(viewer.text(), HasSubstr("event: skipped\n"));
  EXPECT_THAT(viewer.text(), Not(HasSubstr("id: 00000001\n")));
  EXPECT_THAT(viewer.text(), Not(HasSubstr("event: overflow")));
  // Order: skipped, then the kept events oldest first, ending with the newest.
  EXPECT_LT(viewer.text().find("event: skipped"), viewer.text().find("id: 0000"));
  hub.Publish("console", Event(1001));
  EXPECT_TRUE(viewer.WaitFor("id: 00001001\n"));
}

// Ending a credential closes its streams, and only its streams.
TEST(SseHubTest, EndingACredentialClosesItsStreamsOnly) {
  SseHub hub;
  Peer ended, kept;
  ASSERT_TRUE(hub.Reserve("u").ok());
  ASSERT_TRUE(hub.Reserve("u").ok());
  hub.Attach(ended.TakeServerEnd(), {.topic = "t"}, {.user_id = "u", .credential = "t:one"});
  hub.Attach(kept.TakeServerEnd(), {.topic = "t"}, {.user_id = "u", .credential = "s:two"});
  ASSERT_TRUE(ended.WaitFor("retry:"));
  ASSERT_TRUE(kept.WaitFor("retry:"));
  ASSERT_TRUE(l4d2::testing::Eventually([&] { return hub.Viewers("u").size() == 2; }));
  hub.EndCredential("t:one");
  hub.Publish("t", Event(1));
  ASSERT_TRUE(kept.WaitFor("id: 00000001\n"));
  bool open = true;
  for (int i = 0; i < 50 && open; ++i) open = ended.Read();
  EXPECT_FALSE(open);
  EXPECT_THAT(ended.text(), HasSubstr("event: end\n"));
  EXPECT_THAT(ended.text(), Not(HasSubstr("id: 00000001")));
  ASSERT_EQ(hub.Viewers().size(), 1u);
  EXPECT_EQ(hub.Viewers()[0].credential, "s:two");
  EXPECT_TRUE(hub.Viewers("someone else").empty());
}

}  // namespace
}  // namespace l4d2::controller

namespace l4d2::controller {
namespace {

// Streams opened and closed on thousands of objects leave nothing behind: a topic of one
// object nobody watches is forgotten with its history after the grace; "fleet" is kept, and so
// is a topic still watched. 10,000 console streams on 2,000 servers, 100 lines each: the heap
// in use comes back within 10% of where it started.
TEST(SseHubTest, TopicsNobodyWatchesAreForgottenAndTheirMemoryWithThem) {
  SseHub hub({.max_streams_per_user = 100000,
              .heartbeat = absl::Milliseconds(50),
              .idle_topic_grace = absl::Milliseconds(300)});
  hub.Publish("fleet", Event(1));
  Peer kept;
  ASSERT_TRUE(hub.Reserve("watcher").ok());
  hub.Attach(kept.TakeServerEnd(), {.topic = "console:kept"}, {.user_id = "watcher"});
  ASSERT_TRUE(kept.WaitFor("retry:"));
  ASSERT_TRUE(l4d2::testing::Eventually([&] { return hub.Stats().topics == 2; }));
  const size_t heap_before = mallinfo2().uordblks;
  constexpr int kServers = 2000, kStreams = 10000, kBatch = 500;
  for (int first = 0; first < kStreams; first += kBatch) {
    std::vector<std::unique_ptr<Peer>> viewers;
    for (int i = first; i < first + kBatch; ++i) {
      ASSERT_TRUE(hub.Reserve("u").ok());
      viewers.push_back(std::make_unique<Peer>());
      hub.Attach(viewers.back()->TakeServerEnd(),
                 {.topic = absl::StrCat("console:s", i % kServers)}, {.user_id = "u"});
    }
    if (first < kServers) {
      for (int i = first; i < first + kBatch; ++i) {
        for (int line = 1; line <= 100; ++line) {
          hub.Publish(absl::StrCat("console:s", i), Event(line, R"({"text":"a console line"})"));
        }
      }
    }
    ASSERT_TRUE(l4d2::testing::Eventually([&] { return hub.Stats().clients == kBatch + 1; },
                                          absl::Seconds(20)));
  }  // Each batch's viewers close; the hub notices at its next heartbeat.
  ASSERT_TRUE(
      l4d2::testing::Eventually([&] { return hub.Stats().clients == 1; }, absl::Seconds(20)));
  ASSERT_TRUE(
      l4d2::testing::Eventually([&] { return hub.Stats().topics == 2; }, absl::Seconds(20)));
  EXPECT_TRUE(hub.Keeps("fleet"));
  EXPECT_TRUE(hub.Keeps("console:kept"));
  EXPECT_FALSE(hub.Keeps("console:s1"));
  const size_t heap_after = mallinfo2().uordblks;
  std::cout << "heap in use: " << heap_before << " bytes before, " << heap_after
            << " after 10,000 streams on 2,000 topics\n";
  // What the hub kept of them must be nothing per stream: the leak this guards against was
  // 81 MB (8 KB a stream). Measured against a ~0.5 MB baseline, 10 % (50 KB) was below the
  // allocator's own noise (a CI run saw +96 KB); 256 KiB is under 27 bytes a stream.
  EXPECT_LT(heap_after, heap_before + (256 << 10));
  // A viewer coming back later starts afresh.
  Peer late;
  ASSERT_TRUE(hub.Reserve("u").ok());
  hub.Attach(late.TakeServerEnd(), {.topic = "console:s1"}, {.user_id = "u"});
  hub.Publish("console:s1", Event(1, R"({"text":"new"})"));
  ASSERT_TRUE(late.WaitFor("new"));
  EXPECT_THAT(late.text(), Not(HasSubstr("a console line")));
}

}  // namespace
}  // namespace l4d2::controller
