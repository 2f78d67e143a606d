// Alerts end to end on SQLite and PostgreSQL: which webhook URLs are taken (loopback and
// link-local refused by default), the dispatcher turning audit entries into one delivery per
// webhook that may hear of them (once, across controllers; no history replayed), and deliveries
// over real HTTP to a local receiver (tests/fakes/webhook_receiver.py) that checks their
// signature with its own HMAC: delivered, retried while the receiver is down or answers 503 and
// delivered when it is back, refused for good on a 404 or a loopback address not allowed.

#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/http/curl_http_fetcher.h"
#include "controller/fleet/alert_dispatcher.h"
#include "controller/jobs/job_kinds.h"
#include "controller/jobs/webhook_delivery.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "l4d2/controller/v1/alerts.pb.h"
#include "rpc/proto_json.h"
#include "tests/controller/jobs/fake_agent_client.h"
#include "tests/controller/store/backend_test.h"
#include "tests/testing/child_process.h"
#include "tests/testing/net.h"

namespace l4d2::controller {
namespace {

using ::testing::HasSubstr;
using ::testing::SizeIs;

TEST(WebhookUrlTest, LoopbackLinkLocalAndUnspecifiedAddressesAreRefusedUnlessAllowed) {
  for (const char* refused : {"http://127.0.0.1/x", "http://127.1.2.3:9000/", "http://[::1]/hook",
                              "http://169.254.169.254/latest/meta-data", "http://[fe80::1]/",
                              "http://0.0.0.0/", "http://localhost:8080/", "http://api.localhost/",
                              "http://[::ffff:127.0.0.1]/", "http://224.0.0.1/"}) {
    EXPECT_TRUE(absl::IsInvalidArgument(CheckWebhookUrl(refused, false))) << refused;
  }
  for (const char* malformed :
       {"ftp://example.org/", "file:///etc/passwd", "https://user:pw@example.org/",
        "https:///nohost", "https://exa mple.org/", "javascript:alert(1)"}) {
    EXPECT_TRUE(absl::IsInvalidArgument(CheckWebhookUrl(malformed, true))) << malformed;
  }
  for (const char* taken : {"https://discord.com/api/webhooks/1/abc", "http://10.0.0.5:9000/hook",
                            "https://hooks.example.org:8443/l4d2?x=1"}) {
    EXPECT_TRUE(CheckWebhookUrl(taken, false).ok()) << taken;
  }
  EXPECT_TRUE(CheckWebhookUrl("http://127.0.0.1:9000/hook", true).ok());
  EXPECT_TRUE(IsRefusedWebhookAddress("::ffff:169.254.1.1"));
  EXPECT_FALSE(IsRefusedWebhookAddress("192.168.1.10"));
  EXPECT_FALSE(IsRefusedWebhookAddress("example.org"));
}

class AlertsTest : public FleetBackendTest {
 protected:
  void SetUp() override {
    FleetBackendTest::SetUp();
    if (IsSkipped()) return;
    admin_ = NewUser("root", Role::kAdmin);
    alice_ = NewUser("alice");
    bob_ = NewUser("bob");
    auto blueprint = stores_->blueprints.Create(alice_, {.name = "versus"});
    ASSERT_TRUE(blueprint.ok());
    auto server = stores_->servers.Create(alice_, "vs1", blueprint->id, DesiredState::kRunning);
    ASSERT_TRUE(server.ok());
    server_ = server->id;
  }

  Webhook NewWebhook(const Actor& actor, const std::string& name, std::vector<std::string> events,
                     const std::string& url = "https://hooks.example.org/l4d2",
                     const std::string& format = "json") {
    absl::StatusOr<Webhook> made = stores_->webhooks.Create(
        actor, {.name = name, .url = url, .format = format, .events = std::move(events)}, true);
    EXPECT_TRUE(made.ok()) << made.status();
    return made.ok() ? *made : Webhook();
  }

  // The deliveries queued, as (webhook id, event).
  std::vector<std::pair<std::string, std::string>> Deliveries() {
    std::vector<std::pair<std::string, std::string>> found;
    absl::StatusOr<std::vector<Job>> jobs = stores_->jobs.List({.kind = "webhook.deliver"});
    EXPECT_TRUE(jobs.ok());
    for (const Job& job : *jobs) {
      auto params = FromJson<v1::WebhookDeliveryParams>(job.params);
      found.emplace_back(params->webhook_id(), params->event().event());
    }
    std::sort(found.begin(), found.end());
    return found;
  }

  Actor admin_, alice_, bob_;
  std::string server_;
};

TEST_P(AlertsTest, ABadWebhookIsRefusedNamingItsFieldAndChangesNothing) {
  const WebhookInput good{
      .name = "ops", .url = "https://hooks.example.org/", .events = {"server.hung"}};
  for (const auto& [change, field] :
       std::vector<std::pair<std::function<void(WebhookInput&)>, std::string>>{
           {[](WebhookInput& in) { in.url = "http://127.0.0.1:8080/"; }, "url:"},
           {[](WebhookInput& in) { in.url = "gopher://x/"; }, "url:"},
           {[](WebhookInput& in) { in.events = {}; }, "events:"},
           {[](WebhookInput& in) { in.events = {"server.exploded"}; }, "events:"},
           {[](WebhookInput& in) { in.format = "slack"; }, "format:"},
           {[](WebhookInput& in) { in.name = "Ops Team"; }, "name"}}) {
    WebhookInput input = good;
    change(input);
    absl::StatusOr<Webhook> made = stores_->webhooks.Create(alice_, input, false);
    EXPECT_TRUE(absl::IsInvalidArgument(made.status())) << made.status();
    EXPECT_THAT(made.status().message(), HasSubstr(field));
  }
  EXPECT_EQ(Count("webhooks"), 0);
  absl::StatusOr<Webhook> made = stores_->webhooks.Create(alice_, good, false);
  ASSERT_TRUE(made.ok());
  EXPECT_EQ(made->secret.size(), 64u);
  EXPECT_TRUE(absl::IsAlreadyExists(stores_->webhooks.Create(alice_, good, false).status()));
  EXPECT_TRUE(absl::IsNotFound(stores_->webhooks.Get(bob_, made->id).status()));
}

TEST_P(AlertsTest, EachEventReachesTheWebhooksThatWantItAndMayHearOfItOnce) {
  // Before any dispatcher ran: not replayed.
  ASSERT_TRUE(
      stores_->audit.Append("system", "server.crash_loop", server_, "{}", alice_.user_id).ok());
  const Webhook hers = NewWebhook(alice_, "hers", {"server.crash_loop", "server.crashed"});
  const Webhook his = NewWebhook(bob_, "his", {"server.crash_loop"});
  const Webhook ops = NewWebhook(
      admin_, "ops",
      {"server.crash_loop", "host.unreachable", "host.back", "schedule.failed", "job.failed"});
  AlertDispatcher first(*stores_, {.owner = "controller-a"});
  AlertDispatcher second(*stores_, {.owner = "controller-b"});
  ASSERT_EQ(*first.Round(), 0);  // the cursor starts at the newest entry
  auto append = [&](const std::string& action, const std::string& target, const std::string& detail,
                    const std::string& owner) {
    ASSERT_TRUE(stores_->audit.Append("system", action, target, detail, owner).ok());
  };
  append("server.crash_loop", server_, R"({"name":"vs1","host":"h1"})", alice_.user_id);
  append("server.start", server_, "{}", alice_.user_id);  // not an alert
  append("host.state", "h1", R"({"from":"ready","to":"unreachable"})", "");
  append("host.state", "h1", R"({"from":"unreachable","to":"ready"})", "");
  append("job.failed", "j1", R"({"kind":"schedule.run","error":"step 3 failed"})", alice_.user_id);
  append("job.failed", "j2", R"({"kind":"host.install","error":"no disk"})", "");
  // A failed delivery is not an alert (a failing webhook would be told of itself forever).
  append("job.failed", "j3", R"({"kind":"webhook.deliver","error":"HTTP 404"})", "");
  EXPECT_EQ(*second.Round(), 0);  // the first holds the lease
  EXPECT_EQ(*first.Round(), 6);
  EXPECT_EQ(*first.Round(), 0);  // each once
  std::vector<std::pair<std::string, std::string>> expected = {
      {hers.id, "server.crash_loop"}, {ops.id, "server.crash_loop"}, {ops.id, "host.unreachable"},
      {ops.id, "host.back"},          {ops.id, "schedule.failed"},   {ops.id, "job.failed"}};
  // Bob hears nothing of Alice's server; Alice nothing of hosts or of what she did not ask for.
  EXPECT_THAT(Deliveries(), SizeIs(6));
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(Deliveries(), expected);
  // The delivery carries a sentence and the entry's detail; it is Alice's job.
  absl::StatusOr<std::vector<Job>> jobs =
      stores_->jobs.List({.kind = "webhook.deliver", .lock_key = "webhook:" + hers.id});
  ASSERT_THAT(*jobs, SizeIs(1));
  EXPECT_EQ((*jobs)[0].created_by, alice_.Name());
  EXPECT_EQ((*jobs)[0].max_attempts, kWebhookAttempts);
  auto params = FromJson<v1::WebhookDeliveryParams>((*jobs)[0].params);
  EXPECT_EQ(params->event().text(), "Server vs1 is in a crash loop");
  EXPECT_EQ(params->event().detail().fields().at("host").string_value(), "h1");
}

L4D2_INSTANTIATE_BACKEND_TEST(AlertsTest);

// Deliveries over HTTP, on SQLite, through the real queue and libcurl.
class WebhookDeliveryTest : public AlertsTest {
 protected:
  void SetUp() override {
    AlertsTest::SetUp();
    if (IsSkipped()) return;
    port_ = l4d2::testing::FreeGamePort();
    state_ = dir_.Sub("receiver");
    std::filesystem::create_directories(state_);
    StartReceiver();
    webhook_ = NewWebhook(alice_, "hers", {"server.crash_loop"},
                          absl::StrCat("http://127.0.0.1:", port_, "/hook"));
    std::ofstream(state_ + "/secret") << webhook_.secret;
  }

  void StartReceiver() {
    auto process = l4d2::testing::ChildProcess::Start(
        {.argv = {"/usr/bin/env", "python3",
                  std::string(L4D2_SOURCE_DIR) + "/tests/fakes/webhook_receiver.py",
                  std::to_string(port_), state_}});
    ASSERT_TRUE(process.ok());
    receiver_ = *std::move(process);
    ASSERT_TRUE(receiver_->WaitForOutput("Serving webhook receiver")) << receiver_->Output();
  }

  std::string Queue(const std::string& event = "server.crash_loop") {
    v1::AlertEvent alert;
    alert.set_event(event);
    alert.set_target(server_);
    alert.set_text("Server vs1 is in a crash loop");
    absl::StatusOr<std::string> id = stores_->jobs.Enqueue(WebhookDeliveryJob(webhook_, alert));
    EXPECT_TRUE(id.ok());
    return *id;
  }

  // One claim of what is due: each delivery attempted and ended as the scheduler would.
  int Attempt(bool allow_private = true) {
    absl::StatusOr<std::vector<Job>> claimed =
        stores_->jobs.Claim("controller-a", 10, absl::Seconds(30));
    EXPECT_TRUE(claimed.ok());
    for (const Job& job : *claimed) {
      absl::StatusOr<JobOutcome> outcome = RunJob({.stores = *stores_,
                                                   .agents = agent_,
                                                   .placement = {},
                                                   .http = &http_,
                                                   .allow_private_targets = allow_private},
                                                  job, call_);
      JobEnding ending{.id = job.id, .owner = "controller-a", .not_before = clock_.Now()};
      if (outcome.ok()) {
        ending.result = outcome->result;
      } else if (absl::IsUnavailable(outcome.status())) {
        ending.state = JobState::kQueued;
        ending.error = outcome.status();
        ending.not_before = clock_.Now() + JobQueue::Backoff(job.attempt);
      } else {
        ending.state = JobState::kFailed;
        ending.error = outcome.status();
      }
      EXPECT_TRUE(stores_->jobs.Write({}, {ending}).ok());
    }
    return static_cast<int>(claimed->size());
  }

  std::vector<v1::AlertEvent> Received(std::vector<std::string>* headers = nullptr) {
    std::vector<v1::AlertEvent> events;
    std::ifstream in(state_ + "/requests.jsonl");
    for (std::string line; std::getline(in, line);) {
      google::protobuf::Struct request;
      EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(line, &request).ok());
      EXPECT_TRUE(request.fields().at("signature_ok").bool_value()) << line;
      if (headers != nullptr) headers->push_back(line);
      v1::AlertEvent event;
      (void)google::protobuf::util::JsonStringToMessage(request.fields().at("body").string_value(),
                                                        &event);
      events.push_back(event);
    }
    return events;
  }

  int port_ = 0;
  std::string state_;
  std::unique_ptr<l4d2::testing::ChildProcess> receiver_;
  Webhook webhook_;
  CurlHttpFetcher http_;
  FakeAgentClient agent_;
  FakeAgentCall call_;
};

TEST_P(WebhookDeliveryTest, ASignedDeliveryReachesTheReceiverOnce) {
  if (GetParam() == Backend::kPostgres) GTEST_SKIP() << "one backend is enough for HTTP";
  const std::string job = Queue();
  ASSERT_EQ(Attempt(), 1);
  std::vector<std::string> requests;
  std::vector<v1::AlertEvent> received = Received(&requests);
  ASSERT_THAT(received, SizeIs(1));
  EXPECT_EQ(received[0].id(), job);  // the idempotency key
  EXPECT_EQ(received[0].event(), "server.crash_loop");
  EXPECT_THAT(requests[0], HasSubstr(absl::StrCat("\"x-left4me-delivery\": \"", job, "\"")));
  EXPECT_THAT(requests[0], HasSubstr("\"x-left4me-event\": \"server.crash_loop\""));
  EXPECT_EQ(stores_->jobs.Get(job)->state, JobState::kSucceeded);
  EXPECT_THAT(stores_->jobs.Get(job)->result, HasSubstr("200"));
  EXPECT_THAT(requests[0], ::testing::Not(HasSubstr(webhook_.secret)));
}

TEST_P(WebhookDeliveryTest, AReceiverDownForAMinuteGetsItAfterAndA404IsNotRetried) {
  if (GetParam() == Backend::kPostgres) GTEST_SKIP() << "one backend is enough for HTTP";
  receiver_.reset();  // down
  const std::string job = Queue();
  int attempts = 0;
  for (absl::Duration down = absl::ZeroDuration(); down < absl::Minutes(1);
       down += absl::Seconds(1)) {
    attempts += Attempt();
    clock_.Advance(absl::Seconds(1));
  }
  EXPECT_GE(attempts, 5);
  EXPECT_EQ(stores_->jobs.Get(job)->state, JobState::kQueued);
  EXPECT_THAT(stores_->jobs.Get(job)->error.message(), HasSubstr("no answer"));
  // Back, answering 503 first: still retried; then 200.
  StartReceiver();
  std::ofstream(state_ + "/status") << "503";
  clock_.Advance(absl::Minutes(5));
  ASSERT_EQ(Attempt(), 1);
  EXPECT_EQ(stores_->jobs.Get(job)->state, JobState::kQueued);
  std::ofstream(state_ + "/status") << "200";
  clock_.Advance(absl::Minutes(5));
  ASSERT_EQ(Attempt(), 1);
  Job delivered = *stores_->jobs.Get(job);
  EXPECT_EQ(delivered.state, JobState::kSucceeded);
  EXPECT_GT(delivered.attempt, attempts);
  std::vector<v1::AlertEvent> received = Received();
  ASSERT_THAT(received, SizeIs(2));  // the 503 and the delivery, the same id
  EXPECT_EQ(received[0].id(), received[1].id());
  // A 404 is the receiver's no: failed at once.
  std::ofstream(state_ + "/status") << "404";
  const std::string refused = Queue();
  ASSERT_EQ(Attempt(), 1);
  EXPECT_EQ(stores_->jobs.Get(refused)->state, JobState::kFailed);
  EXPECT_THAT(stores_->jobs.Get(refused)->error.message(), HasSubstr("HTTP 404"));
}

TEST_P(WebhookDeliveryTest, ALoopbackReceiverIsRefusedWhenConnectingUnlessAllowed) {
  if (GetParam() == Backend::kPostgres) GTEST_SKIP() << "one backend is enough for HTTP";
  const std::string job = Queue();
  ASSERT_EQ(Attempt(/*allow_private=*/false), 1);
  EXPECT_EQ(stores_->jobs.Get(job)->state, JobState::kFailed);
  EXPECT_THAT(stores_->jobs.Get(job)->error.message(), HasSubstr("refused"));
  EXPECT_THAT(Received(), SizeIs(0));
  // A name resolving to loopback is refused the same way, at connect time.
  webhook_ = *stores_->webhooks.Update(alice_, webhook_.id,
                                       {.name = "hers",
                                        .url = absl::StrCat("http://localhost:", port_, "/hook"),
                                        .events = {"server.crash_loop"}},
                                       true);
  const std::string by_name = Queue();
  ASSERT_EQ(Attempt(false), 1);
  EXPECT_EQ(stores_->jobs.Get(by_name)->state, JobState::kFailed);
  EXPECT_THAT(Received(), SizeIs(0));
}

TEST_P(WebhookDeliveryTest, ADiscordWebhookGetsAMessage) {
  if (GetParam() == Backend::kPostgres) GTEST_SKIP() << "one backend is enough for HTTP";
  webhook_ = *stores_->webhooks.Update(
      alice_, webhook_.id,
      {.name = "hers", .url = webhook_.url, .format = "discord", .events = {"server.crash_loop"}},
      true);
  Queue();
  ASSERT_EQ(Attempt(), 1);
  std::vector<std::string> requests;
  Received(&requests);
  ASSERT_THAT(requests, SizeIs(1));
  EXPECT_THAT(requests[0], HasSubstr(R"(\"content\":\"Server vs1 is in a crash loop\")"));
  EXPECT_THAT(requests[0], HasSubstr(R"(\"username\":\"left4me\")"));
}

L4D2_INSTANTIATE_BACKEND_TEST(WebhookDeliveryTest);

}  // namespace
}  // namespace l4d2::controller
