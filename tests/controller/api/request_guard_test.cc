// The request scanner on its own: every limit refused with its status as soon as the bytes
// show it, whatever way the bytes are split; pipelined and chunked requests within the limits
// pass untouched; the address limits with a fake clock.

#include "controller/api/request_guard.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/fakes/fake_clock.h"

namespace l4d2::controller {
namespace {

using ::testing::HasSubstr;

constexpr RequestLimits kLimits{.max_body_bytes = 100, .max_head_bytes = 200, .max_url_bytes = 50};

struct Scan {
  std::optional<Refusal> refusal;
  std::vector<RequestHead> heads;
};

// Feeds `bytes` in pieces of `piece` bytes (0: at once).
Scan Feed(const std::string& bytes, size_t piece = 0) {
  RequestScanner scanner(kLimits);
  Scan scan;
  auto on_head = [&](const RequestHead& head) -> std::optional<Refusal> {
    scan.heads.push_back(head);
    return std::nullopt;
  };
  if (piece == 0) piece = bytes.size();
  for (size_t at = 0; at < bytes.size() && !scan.refusal; at += piece) {
    scan.refusal = scanner.Feed(absl::string_view(bytes).substr(at, piece), on_head);
  }
  return scan;
}

std::string Post(const std::string& body, const std::string& extra = "") {
  return absl::StrCat("POST /api/v1/session HTTP/1.1\r\nHost: x\r\n", extra,
                      "Content-Length: ", body.size(), "\r\n\r\n", body);
}

TEST(RequestScannerTest, RequestsWithinTheLimitsPassWhateverTheSplit) {
  const std::string bytes = Post(std::string(100, 'a')) + "GET /healthz HTTP/1.1\r\n\r\n" +
                            Post("{}", "Cookie: l4d2_session=x\r\n") +
                            "POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                            "32\r\n" +
                            std::string(50, 'b') + "\r\n32;x=y\r\n" + std::string(50, 'c') +
                            "\r\n0\r\nTrailer: t\r\n\r\n" +
                            "GET /last HTTP/1.1\r\nAuthorization: Bearer t\r\n\r\n";
  for (size_t piece : {0, 1, 2, 3, 7, 64}) {
    SCOPED_TRACE(piece);
    Scan scan = Feed(bytes, piece);
    EXPECT_FALSE(scan.refusal.has_value()) << scan.refusal->message;
    ASSERT_EQ(scan.heads.size(), 5u);
    EXPECT_FALSE(scan.heads[0].has_credentials);
    EXPECT_FALSE(scan.heads[1].has_credentials);
    EXPECT_TRUE(scan.heads[2].has_credentials);
    EXPECT_FALSE(scan.heads[3].has_credentials);
    EXPECT_TRUE(scan.heads[4].has_credentials);
  }
}

TEST(RequestScannerTest, EachLimitIsRefusedWithItsStatusFromTheHeadAlone) {
  struct Case {
    std::string name;
    std::string bytes;
    int http;
  };
  const std::vector<Case> cases = {
      // The declared length is enough: no body byte has come.
      {"declared body", "POST /a HTTP/1.1\r\nContent-Length: 101\r\n\r\n", 413},
      {"head", "GET /a HTTP/1.1\r\nX: " + std::string(300, 'h'), 431},
      {"target", "GET /" + std::string(60, 'u') + " HTTP/1.1\r\n\r\n", 414},
      {"target without end", "GET /" + std::string(300, 'u'), 414},
      {"chunked body",
       "POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n40\r\n" + std::string(64, 'x') +
           "\r\n40\r\n",
       413},
      {"both lengths",
       "POST /a HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
      {"bad length", "POST /a HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400},
      {"two lengths", "POST /a HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400},
      {"bad chunk", "POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400},
      {"request line", "GARBAGE\r\n\r\n", 400},
      // A second request over the limit after one within it.
      {"second", Post("ok") + "POST /a HTTP/1.1\r\nContent-Length: 1000000\r\n\r\n", 413},
  };
  for (const Case& c : cases) {
    for (size_t piece : {0, 1, 5}) {
      SCOPED_TRACE(c.name + " in pieces of " + std::to_string(piece));
      Scan scan = Feed(c.bytes, piece);
      ASSERT_TRUE(scan.refusal.has_value());
      EXPECT_EQ(scan.refusal->http, c.http);
      EXPECT_FALSE(scan.refusal->code.empty());
    }
  }
}

TEST(RequestScannerTest, ARefusalStaysAndItsResponseIsJsonThatCloses) {
  RequestScanner scanner(kLimits);
  auto none = [](const RequestHead&) -> std::optional<Refusal> { return std::nullopt; };
  std::optional<Refusal> refused =
      scanner.Feed("POST /a HTTP/1.1\r\nContent-Length: 5000000\r\n\r\n", none);
  ASSERT_TRUE(refused.has_value());
  EXPECT_TRUE(scanner.Feed("GET / HTTP/1.1\r\n\r\n", none).has_value());
  const std::string response = RefusalResponse(*refused);
  EXPECT_THAT(response, HasSubstr("HTTP/1.1 413 Content Too Large\r\n"));
  EXPECT_THAT(response, HasSubstr("Content-Type: application/json\r\n"));
  EXPECT_THAT(response, HasSubstr("Connection: close\r\n"));
  EXPECT_THAT(response, HasSubstr("X-Content-Type-Options: nosniff\r\n"));
  EXPECT_THAT(
      response,
      HasSubstr(R"({"code":"RESOURCE_EXHAUSTED","message":"the request body is over 100 bytes"})"));
  // A refusal from the head callback (the address's rate) ends the scan too.
  RequestScanner limited(kLimits);
  auto refuse = [](const RequestHead&) -> std::optional<Refusal> {
    return Refusal{.http = 429, .code = "RESOURCE_EXHAUSTED", .message = "slow down"};
  };
  std::optional<Refusal> rate = limited.Feed("GET /healthz HTTP/1.1\r\n\r\n", refuse);
  ASSERT_TRUE(rate.has_value());
  EXPECT_EQ(rate->http, 429);
}

TEST(AddressLimiterTest, ConnectionsAndUnauthenticatedRequestsPerAddress) {
  l4d2::testing::FakeClock clock;
  AddressLimiter limiter(
      clock, {.max_connections = 2, .unauthenticated_per_second = 2, .unauthenticated_burst = 3});
  EXPECT_FALSE(limiter.Connect("10.0.0.1").has_value());
  EXPECT_FALSE(limiter.Connect("10.0.0.1").has_value());
  std::optional<Refusal> third = limiter.Connect("10.0.0.1");
  ASSERT_TRUE(third.has_value());
  EXPECT_EQ(third->http, 503);
  EXPECT_FALSE(limiter.Connect("10.0.0.2").has_value());  // another address
  limiter.Disconnect("10.0.0.1");
  EXPECT_FALSE(limiter.Connect("10.0.0.1").has_value());

  for (int i = 0; i < 3; ++i) EXPECT_FALSE(limiter.Unauthenticated("10.0.0.1").has_value());
  std::optional<Refusal> fourth = limiter.Unauthenticated("10.0.0.1");
  ASSERT_TRUE(fourth.has_value());
  EXPECT_EQ(fourth->http, 429);
  EXPECT_EQ(fourth->retry_after, "1");
  EXPECT_FALSE(limiter.Unauthenticated("10.0.0.2").has_value());
  clock.Advance(absl::Milliseconds(500));  // one token back
  EXPECT_FALSE(limiter.Unauthenticated("10.0.0.1").has_value());
  EXPECT_TRUE(limiter.Unauthenticated("10.0.0.1").has_value());

  AddressLimiter off(clock, {.max_connections = 0, .unauthenticated_per_second = 0});
  for (int i = 0; i < 10000; ++i) {
    ASSERT_FALSE(off.Connect("a").has_value());
    ASSERT_FALSE(off.Unauthenticated("a").has_value());
  }
}

}  // namespace
}  // namespace l4d2::controller
