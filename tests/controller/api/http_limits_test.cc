// The controller's HTTP server as an attacker and a careless client meet it, over raw sockets:
// oversized bodies, heads and targets are answered at once with a JSON error and their
// connection closed, while the API keeps answering; every error the HTTP layer makes is JSON
// with a code; one address gets only so many connections and so many requests without
// credentials.

#include <sys/socket.h>

#include <atomic>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/utf8.h"
#include "controller/api/controller_api.h"
#include "controller/jobs/agent_connector.h"
#include "controller/store/migrations.h"
#include "gmock/gmock.h"
#include "google/protobuf/struct.pb.h"
#include "gtest/gtest.h"
#include "rpc/proto_json.h"
#include "tests/testing/net.h"
#include "tests/testing/temp_dir.h"

namespace l4d2::controller {
namespace {

using ::l4d2::testing::HttpRequest;
using ::l4d2::testing::HttpResponse;
using ::l4d2::testing::RawConnection;
using ::testing::HasSubstr;
using ::testing::StartsWith;

class HttpLimitsTest : public ::testing::Test {
 protected:
  void Start(AddressLimits addresses = {}) {
    api_.reset();
    auto db = Database::Open({.url = "sqlite3:" + dir_.Sub("c.db")});
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = *std::move(db);
    ASSERT_TRUE(ApplyMigrations(*db_, ControllerMigrations(), Clock::Real()).ok());
    stores_ = std::make_unique<FleetStores>(*db_, Clock::Real());
    auto api = ControllerApi::Start(*db_, *stores_, agents_, Clock::Real(),
                                    {.http = {.address = "127.0.0.1:0",
                                              .threads = 1,
                                              .workers = 2,
                                              .max_request_bytes = 64 << 10,
                                              .addresses = addresses},
                                     .password_cost = PasswordCost::Minimal()});
    ASSERT_TRUE(api.ok()) << api.status();
    api_ = *std::move(api);
  }
  void SetUp() override { Start(); }
  void TearDown() override { api_.reset(); }
  int port() { return api_->port(); }

  // Sends `head` and then `body_bytes` of body as fast as the server takes them, on its own
  // thread; returns what came back, and how long after the head it came.
  struct Answer {
    std::string response;
    bool closed = false;
    absl::Duration after_head;
  };
  Answer SendEndlessly(const std::string& head, size_t body_bytes) {
    absl::StatusOr<std::unique_ptr<RawConnection>> connection = RawConnection::Open(port());
    EXPECT_TRUE(connection.ok());
    if (!connection.ok()) return {};
    (*connection)->Send(head);
    const absl::Time sent = absl::Now();
    std::atomic<bool> stop = false;
    std::thread sender([&] {
      const std::string chunk(1 << 20, 'x');
      for (size_t sent_bytes = 0; sent_bytes < body_bytes && !stop; sent_bytes += chunk.size()) {
        if (!(*connection)->Send(chunk)) break;
      }
    });
    Answer answer;
    answer.response = (*connection)->ReadToClose(absl::Seconds(10), &answer.closed);
    answer.after_head = absl::Now() - sent;
    stop = true;
    shutdown((*connection)->fd(), SHUT_RDWR);
    sender.join();
    return answer;
  }

  l4d2::testing::TempDir dir_;
  std::unique_ptr<Database> db_;
  std::unique_ptr<FleetStores> stores_;
  PlaintextAgentConnector agents_;
  std::unique_ptr<ControllerApi> api_;
};

TEST_F(HttpLimitsTest, OversizedRequestsAreAnsweredAtOnceAndCutOff) {
  // Two clients streaming 50 MB bodies at the sign-in route, each cut off at its head, while
  // the health check answers throughout.
  std::atomic<bool> attacking = true;
  std::thread attackers([&] {
    while (attacking) {
      Answer answer = SendEndlessly(
          "POST /api/v1/session HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
          "Content-Length: 52428800\r\n\r\n",
          50 << 20);
      EXPECT_THAT(answer.response, StartsWith("HTTP/1.1 413 "));
    }
  });
  for (int i = 0; i < 20; ++i) {
    const absl::Time start = absl::Now();
    absl::StatusOr<HttpResponse> health = HttpRequest(port(), "GET", "/healthz");
    ASSERT_TRUE(health.ok());
    EXPECT_EQ(health->status, 200);
    EXPECT_LT(absl::Now() - start, absl::Milliseconds(500));
    absl::SleepFor(absl::Milliseconds(25));
  }
  attacking = false;
  attackers.join();

  Answer body = SendEndlessly(
      "POST /api/v1/session HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
      "Content-Length: 52428800\r\n\r\n",
      50 << 20);
  EXPECT_THAT(body.response, StartsWith("HTTP/1.1 413 Content Too Large\r\n"));
  EXPECT_THAT(body.response, HasSubstr("Connection: close\r\n"));
  EXPECT_THAT(
      body.response,
      HasSubstr(
          R"({"code":"RESOURCE_EXHAUSTED","message":"the request body is over 65536 bytes"})"));
  EXPECT_TRUE(body.closed);
  EXPECT_LT(body.after_head, absl::Milliseconds(500));

  // A chunked body is cut where it crosses the limit.
  Answer chunked = SendEndlessly(
      "POST /api/v1/session HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
      "Transfer-Encoding: chunked\r\n\r\n100000\r\n",
      8 << 20);
  EXPECT_THAT(chunked.response, StartsWith("HTTP/1.1 413 "));
  EXPECT_TRUE(chunked.closed);

  // A 2 MB header and a long target, each answered once, in JSON, and closed.
  Answer head = SendEndlessly("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ", 2 << 20);
  EXPECT_THAT(head.response, StartsWith("HTTP/1.1 431 Request Header Fields Too Large\r\n"));
  EXPECT_THAT(head.response, HasSubstr(R"("code":"RESOURCE_EXHAUSTED")"));
  EXPECT_EQ(head.response.find("HTTP/1.1", 1), std::string::npos) << "answered twice";
  EXPECT_TRUE(head.closed);
  Answer target = SendEndlessly("GET /" + std::string(20000, 'a') + " HTTP/1.1\r\n\r\n", 0);
  EXPECT_THAT(target.response, StartsWith("HTTP/1.1 414 URI Too Long\r\n"));
  EXPECT_TRUE(target.closed);

  // The API still answers as before.
  absl::StatusOr<HttpResponse> health = HttpRequest(port(), "GET", "/healthz");
  ASSERT_TRUE(health.ok());
  EXPECT_EQ(health->status, 200);
}

TEST_F(HttpLimitsTest, ErrorsOfTheHttpLayerAreJsonWithACode) {
  absl::StatusOr<HttpResponse> wrong_method = HttpRequest(port(), "PATCH", "/healthz");
  ASSERT_TRUE(wrong_method.ok());
  EXPECT_EQ(wrong_method->status, 405);
  EXPECT_EQ(l4d2::testing::HeaderValue(*wrong_method, "Allow"), "GET");
  EXPECT_EQ(l4d2::testing::HeaderValue(*wrong_method, "Content-Type"), "application/json");
  EXPECT_THAT(wrong_method->body, HasSubstr(R"("code":"INVALID_ARGUMENT")"));
  absl::StatusOr<HttpResponse> servers = HttpRequest(port(), "DELETE", "/api/v1/servers");
  ASSERT_TRUE(servers.ok());
  EXPECT_EQ(servers->status, 405);
  EXPECT_EQ(l4d2::testing::HeaderValue(*servers, "Allow"), "GET, POST");
  absl::StatusOr<HttpResponse> missing = HttpRequest(port(), "GET", "/api/v1/nothing");
  ASSERT_TRUE(missing.ok());
  EXPECT_EQ(missing->status, 404);
  EXPECT_THAT(missing->body, HasSubstr(R"("code":"NOT_FOUND")"));
  // A body that is not UTF-8 (an overlong '/', a lone continuation byte) is refused in valid
  // UTF-8 JSON that quotes at most a short excerpt of it.
  const std::string hostile = "{\"username\":\"\xc0\xaf\x80" + std::string(5000, 'z') + "\"}";
  absl::StatusOr<HttpResponse> bad_utf8 =
      HttpRequest(port(), "POST", "/api/v1/session", {"Content-Type: application/json"}, hostile);
  ASSERT_TRUE(bad_utf8.ok());
  EXPECT_EQ(bad_utf8->status, 400);
  EXPECT_EQ(SanitizeUtf8(bad_utf8->body), bad_utf8->body);
  EXPECT_LT(bad_utf8->body.size(), 1024u);
  EXPECT_TRUE(FromJson<google::protobuf::Struct>(bad_utf8->body).ok()) << bad_utf8->body;
  // Bodies outside the schema that protobuf's parser would swallow: refused naming the field.
  absl::StatusOr<HttpResponse> nested =
      HttpRequest(port(), "POST", "/api/v1/session", {"Content-Type: application/json"},
                  R"({"username":"a","password":"b","username":"c"})");
  ASSERT_TRUE(nested.ok());
  EXPECT_EQ(nested->status, 400);
  EXPECT_THAT(nested->body, HasSubstr("username: given twice"));
  Answer malformed = SendEndlessly("NONSENSE\r\n\r\n", 0);
  EXPECT_THAT(malformed.response, StartsWith("HTTP/1.1 400 Bad Request\r\n"));
  EXPECT_THAT(malformed.response, HasSubstr(R"("code":"INVALID_ARGUMENT")"));
}

TEST_F(HttpLimitsTest, AnAddressGetsSoManyConnectionsAndUnauthenticatedRequests) {
  Start({.max_connections = 3, .unauthenticated_per_second = 1, .unauthenticated_burst = 3});
  std::vector<std::unique_ptr<RawConnection>> open;
  for (int i = 0; i < 3; ++i) open.push_back(*RawConnection::Open(port()));
  // Until the server has counted them: a request on each gets its answer.
  for (auto& connection : open) {
    ASSERT_TRUE(connection->Send("GET /healthz HTTP/1.1\r\nAuthorization: Bearer x\r\n\r\n"));
  }
  absl::SleepFor(absl::Milliseconds(100));
  std::unique_ptr<RawConnection> fourth = *RawConnection::Open(port());
  bool closed = false;
  const std::string refused = fourth->ReadToClose(absl::Seconds(5), &closed);
  EXPECT_THAT(refused, StartsWith("HTTP/1.1 503 Service Unavailable\r\n"));
  EXPECT_THAT(refused, HasSubstr("Retry-After: 1\r\n"));
  EXPECT_TRUE(closed);
  open.pop_back();
  absl::SleepFor(absl::Milliseconds(100));

  // Three requests without credentials, then 429; with credentials (even wrong ones) the
  // request goes on to be judged by the authenticator.
  std::vector<int> statuses;
  for (int i = 0; i < 4; ++i) {
    absl::StatusOr<HttpResponse> health = HttpRequest(port(), "GET", "/healthz");
    ASSERT_TRUE(health.ok());
    statuses.push_back(health->status);
  }
  EXPECT_THAT(statuses, ::testing::ElementsAre(200, 200, 200, 429));
  absl::StatusOr<HttpResponse> with_token =
      HttpRequest(port(), "GET", "/api/v1/servers", {"Authorization: Bearer not-a-token"}, "");
  ASSERT_TRUE(with_token.ok());
  EXPECT_EQ(with_token->status, 401);
  absl::SleepFor(absl::Milliseconds(1100));  // a token back
  absl::StatusOr<HttpResponse> later = HttpRequest(port(), "GET", "/healthz");
  ASSERT_TRUE(later.ok());
  EXPECT_EQ(later->status, 200);
}

}  // namespace
}  // namespace l4d2::controller
