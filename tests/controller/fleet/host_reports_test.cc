// Host reports: the book's checks (every refusal keeps nothing), the report-first sources of
// host health and the reconciler with their gRPC fallback, and a real agent-side reporter
// sending over UDP to a real receiver.

#include "controller/fleet/host_reports.h"

#include <map>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "agent/fleet/reporter.h"
#include "controller/fleet/report_receiver.h"
#include "controller/fleet/report_sources.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/fakes/fake_clock.h"
#include "tls/pki.h"

namespace l4d2::controller {
namespace {

using ::testing::ElementsAre;

// A fleet CA and enrolled hosts: each host's key and the certificate issued for it.
class Fleet {
 public:
  explicit Fleet(absl::Time now)
      : validity_{.not_before = now - absl::Hours(1), .not_after = now + absl::Hours(24)},
        ca_(*tls::CertificateAuthority::Create("test fleet", validity_)) {}

  void Enroll(const std::string& host_id, std::optional<tls::Validity> validity = std::nullopt) {
    tls::KeyAndRequest key = *tls::NewKeyAndRequest();
    keys_[host_id] = key.key_pem;
    certificates_[host_id] =
        *ca_.Issue(key.request_pem, tls::AgentName(host_id), validity.value_or(validity_));
  }
  // As the renewer: a new certificate over the host's key.
  void Renew(const std::string& host_id, const tls::Validity& validity) {
    certificates_[host_id] = *ca_.Renew(certificates_.at(host_id), validity);
  }
  void Revoke(const std::string& host_id) { certificates_.erase(host_id); }
  const std::string& key(const std::string& host_id) { return keys_.at(host_id); }
  const std::string& certificate(const std::string& host_id) { return certificates_.at(host_id); }

  HostReportBook::CertificateSource Source() {
    return [this](const std::string& host_id) -> absl::StatusOr<std::string> {
      ++lookups;
      auto it = certificates_.find(host_id);
      if (it == certificates_.end()) return absl::NotFoundError("no such host");
      return it->second;
    };
  }
  int lookups = 0;

 private:
  tls::Validity validity_;
  tls::CertificateAuthority ca_;
  std::map<std::string, std::string> keys_;
  std::map<std::string, std::string> certificates_;
};

agent::v1::HostReport Report(const std::string& host_id, absl::Time sent) {
  agent::v1::HostReport report;
  report.set_host_id(host_id);
  report.set_sent_unix_nanos(absl::ToUnixNanos(sent));
  report.mutable_info()->set_installed_build_id("9000001");
  agent::v1::Instance* instance = report.add_instances();
  instance->set_name("coop1");
  instance->mutable_status()->set_state(agent::v1::INSTANCE_STATE_RUNNING);
  return report;
}

std::string Datagram(const agent::v1::HostReport& report, const std::string& key_pem) {
  agent::v1::SignedHostReport signed_report;
  signed_report.set_report(report.SerializeAsString());
  signed_report.set_signature(
      *tls::Signer::FromKeyPem(key_pem)->Sign(kHostReportContext, signed_report.report()));
  return signed_report.SerializeAsString();
}

class HostReportBookTest : public ::testing::Test {
 protected:
  HostReportBookTest() : fleet_(clock_.Now()) {
    fleet_.Enroll("h1");
    fleet_.Enroll("h2");
  }

  testing::FakeClock clock_;
  Fleet fleet_;
  HostReportBook book_{fleet_.Source(), clock_};
};

TEST_F(HostReportBookTest, KeepsAReportSignedByTheHostItNames) {
  ASSERT_TRUE(book_.Accept(Datagram(Report("h1", clock_.Now()), fleet_.key("h1"))).ok());
  std::optional<ReceivedReport> latest = book_.Latest("h1", clock_.Now());
  ASSERT_TRUE(latest.has_value());
  EXPECT_EQ(latest->received_at, clock_.Now());
  EXPECT_EQ(latest->report.info().installed_build_id(), "9000001");
  ASSERT_EQ(latest->report.instances_size(), 1);
  EXPECT_EQ(latest->report.instances(0).name(), "coop1");
  // Not fresh enough for a round that wants newer.
  EXPECT_FALSE(book_.Latest("h1", clock_.Now() + absl::Seconds(1)).has_value());
  EXPECT_FALSE(book_.Latest("h2", absl::InfinitePast()).has_value());
  EXPECT_EQ(book_.counters().accepted, 1);
}

TEST_F(HostReportBookTest, RefusesWhatDoesNotComeFromTheHostItNames) {
  const absl::Time now = clock_.Now();
  std::string tampered = Datagram(Report("h1", now), fleet_.key("h1"));
  tampered[10] ^= 0x01;  // Inside the report's bytes.
  auto [self_signed_certificate, self_signed_key] = *tls::SelfSignedCertificate(
      tls::AgentName("h1"), {now - absl::Hours(1), now + absl::Hours(1)});
  const struct {
    const char* what;
    std::string datagram;
    absl::StatusCode code;
  } cases[] = {
      {"not a report", "garbage", absl::StatusCode::kInvalidArgument},
      {"empty", "", absl::StatusCode::kInvalidArgument},
      {"oversized", std::string(kMaxHostReportDatagram + 1, 'x'),
       absl::StatusCode::kInvalidArgument},
      {"no host id", Datagram(Report("", now), fleet_.key("h1")),
       absl::StatusCode::kInvalidArgument},
      {"a host the controller never enrolled", Datagram(Report("h9", now), fleet_.key("h1")),
       absl::StatusCode::kNotFound},
      {"h2's key speaking for h1", Datagram(Report("h1", now), fleet_.key("h2")),
       absl::StatusCode::kUnauthenticated},
      {"a self-signed key for h1", Datagram(Report("h1", now), self_signed_key),
       absl::StatusCode::kUnauthenticated},
      {"changed on the way", tampered, absl::StatusCode::kInvalidArgument},
      {"sent two minutes ago", Datagram(Report("h1", now - absl::Minutes(2)), fleet_.key("h1")),
       absl::StatusCode::kOutOfRange},
      {"sent two minutes ahead", Datagram(Report("h1", now + absl::Minutes(2)), fleet_.key("h1")),
       absl::StatusCode::kOutOfRange},
  };
  for (const auto& each : cases) {
    absl::Status accepted = book_.Accept(each.datagram);
    // A flipped bit may break the framing (invalid) or only the signature (unauthenticated).
    if (std::string(each.what) == "changed on the way") {
      EXPECT_THAT(accepted.code(), ::testing::AnyOf(absl::StatusCode::kInvalidArgument,
                                                    absl::StatusCode::kUnauthenticated,
                                                    absl::StatusCode::kNotFound));
    } else {
      EXPECT_EQ(accepted.code(), each.code) << each.what << ": " << accepted;
    }
  }
  EXPECT_FALSE(book_.Latest("h1", absl::InfinitePast()).has_value());
  EXPECT_EQ(book_.counters().accepted, 0);
  EXPECT_EQ(book_.counters().refused, static_cast<int64_t>(std::size(cases)));
}

TEST_F(HostReportBookTest, ARecordedReportCannotBePlayedBack) {
  const std::string first = Datagram(Report("h1", clock_.Now()), fleet_.key("h1"));
  const std::string earlier =
      Datagram(Report("h1", clock_.Now() - absl::Seconds(1)), fleet_.key("h1"));
  ASSERT_TRUE(book_.Accept(first).ok());
  clock_.Advance(absl::Seconds(5));
  EXPECT_EQ(book_.Accept(first).code(), absl::StatusCode::kAlreadyExists);  // a copy
  EXPECT_EQ(book_.Accept(earlier).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(book_.counters().duplicates, 1);
  EXPECT_EQ(book_.counters().refused, 1);
  // Only the original arrival counts.
  EXPECT_EQ(book_.Latest("h1", absl::InfinitePast())->received_at, clock_.Now() - absl::Seconds(5));
  ASSERT_TRUE(book_.Accept(Datagram(Report("h1", clock_.Now()), fleet_.key("h1"))).ok());
  EXPECT_EQ(book_.Latest("h1", absl::InfinitePast())->received_at, clock_.Now());
}

TEST_F(HostReportBookTest, AnExpiredCertificateSignsNothing) {
  fleet_.Enroll("old", tls::Validity{.not_before = clock_.Now() - absl::Hours(2),
                                     .not_after = clock_.Now() - absl::Hours(1)});
  EXPECT_EQ(book_.Accept(Datagram(Report("old", clock_.Now()), fleet_.key("old"))).code(),
            absl::StatusCode::kNotFound);
  // One that expires while known.
  fleet_.Enroll("soon", tls::Validity{.not_before = clock_.Now() - absl::Hours(1),
                                      .not_after = clock_.Now() + absl::Minutes(1)});
  ASSERT_TRUE(book_.Accept(Datagram(Report("soon", clock_.Now()), fleet_.key("soon"))).ok());
  clock_.Advance(absl::Minutes(2));
  EXPECT_EQ(book_.Accept(Datagram(Report("soon", clock_.Now()), fleet_.key("soon"))).code(),
            absl::StatusCode::kUnauthenticated);
}

// Issue Isolation, 7: a renewal interrupts no report; a revocation stops them at once here
// (Forget) and within the recheck on another controller.
TEST_F(HostReportBookTest, RenewedCertificatesKeepReportsComingAndRevokedOnesStopThem) {
  fleet_.Enroll("soon", tls::Validity{.not_before = clock_.Now() - absl::Hours(1),
                                      .not_after = clock_.Now() + absl::Seconds(30)});
  ASSERT_TRUE(book_.Accept(Datagram(Report("soon", clock_.Now()), fleet_.key("soon"))).ok());
  fleet_.Renew("soon", tls::Validity{.not_before = clock_.Now() - absl::Hours(1),
                                     .not_after = clock_.Now() + absl::Hours(24)});
  // Every report across the old certificate's expiry is accepted.
  for (int i = 0; i < 12; ++i) {
    clock_.Advance(absl::Seconds(5));
    EXPECT_TRUE(book_.Accept(Datagram(Report("soon", clock_.Now()), fleet_.key("soon"))).ok())
        << "at +" << (i + 1) * 5 << "s";
  }
  // Revoked on this controller: refused at the next report.
  ASSERT_TRUE(book_.Accept(Datagram(Report("h1", clock_.Now()), fleet_.key("h1"))).ok());
  fleet_.Revoke("h1");
  clock_.Advance(absl::Seconds(1));
  ASSERT_TRUE(book_.Accept(Datagram(Report("h1", clock_.Now()), fleet_.key("h1"))).ok())
      << "still trusted until forgotten or rechecked";
  book_.Forget("h1");
  clock_.Advance(absl::Seconds(1));
  EXPECT_FALSE(book_.Accept(Datagram(Report("h1", clock_.Now()), fleet_.key("h1"))).ok());
  // Revoked through another controller: refused once the recheck is due.
  ASSERT_TRUE(book_.Accept(Datagram(Report("h2", clock_.Now()), fleet_.key("h2"))).ok());
  fleet_.Revoke("h2");
  clock_.Advance(HostReportOptions().recheck + absl::Seconds(1));
  EXPECT_EQ(book_.Accept(Datagram(Report("h2", clock_.Now()), fleet_.key("h2"))).code(),
            absl::StatusCode::kUnauthenticated);
}

TEST_F(HostReportBookTest, ForgeriesCostABoundedNumberOfVerificationsPerHost) {
  // A flood naming h1, signed by another key: only the burst is verified, the rest is
  // refused before any signature is checked.
  int verified = 0, rationed = 0;
  for (int i = 0; i < 1000; ++i) {
    absl::Status accepted = book_.Accept(
        Datagram(Report("h1", clock_.Now() + absl::Microseconds(i)), fleet_.key("h2")));
    verified += accepted.code() == absl::StatusCode::kUnauthenticated;
    rationed += accepted.code() == absl::StatusCode::kResourceExhausted;
  }
  EXPECT_EQ(verified, 16);
  EXPECT_EQ(rationed, 1000 - 16);
  // The budget refills: the host's own next report gets through.
  clock_.Advance(absl::Seconds(1));
  EXPECT_TRUE(book_.Accept(Datagram(Report("h1", clock_.Now()), fleet_.key("h1"))).ok());
  // Other hosts were never rationed.
  EXPECT_TRUE(book_.Accept(Datagram(Report("h2", clock_.Now()), fleet_.key("h2"))).ok());
}

TEST_F(HostReportBookTest, MadeUpHostIdsAreLookedUpOnceAndRationed) {
  HostReportBook book(fleet_.Source(), clock_, {.lookups_per_second = 10, .lookup_burst = 100});
  const std::string unknown = Datagram(Report("nobody", clock_.Now()), fleet_.key("h1"));
  for (int i = 0; i < 50; ++i) EXPECT_EQ(book.Accept(unknown).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(fleet_.lookups, 1);  // Remembered as unknown.
  int deferred = 0;
  for (int i = 0; i < 1000; ++i) {
    deferred +=
        book.Accept(Datagram(Report(absl::StrCat("made-up-", i), clock_.Now()), fleet_.key("h1")))
            .code() == absl::StatusCode::kResourceExhausted;
  }
  EXPECT_EQ(fleet_.lookups, 100);  // The burst, and not one more.
  EXPECT_EQ(deferred, 1000 - 99);
  // Host health's round forgets all of them (and keeps the real ones).
  clock_.Advance(absl::Seconds(10));
  ASSERT_TRUE(book.Accept(Datagram(Report("h1", clock_.Now()), fleet_.key("h1"))).ok());
  book.Retain({"h1", "h2"});
  EXPECT_TRUE(book.Latest("h1", absl::InfinitePast()).has_value());
  book.Retain({"h2"});  // h1 deleted.
  EXPECT_FALSE(book.Latest("h1", absl::InfinitePast()).has_value());
}

// A fallback that records whom it was asked about.
class RecordingPinger final : public HostPinger {
 public:
  std::vector<std::string> asked;
  std::vector<absl::StatusOr<HostAnswer>> PingAll(const std::vector<Host>& hosts) override {
    std::vector<absl::StatusOr<HostAnswer>> answers;
    for (const Host& host : hosts) {
      asked.push_back(host.id);
      answers.push_back(absl::UnavailableError("dialled"));
    }
    return answers;
  }
};

class RecordingLister final : public InstanceLister {
 public:
  std::vector<std::string> asked;
  std::vector<absl::StatusOr<agent::v1::ListInstancesResponse>> ListAll(
      const std::vector<Host>& hosts) override {
    std::vector<absl::StatusOr<agent::v1::ListInstancesResponse>> answers;
    for (const Host& host : hosts) {
      asked.push_back(host.id);
      answers.push_back(absl::UnavailableError("dialled"));
    }
    return answers;
  }
};

TEST_F(HostReportBookTest, HealthAndTheReconcilerAskOnlyHostsWithoutAFreshReport) {
  fleet_.Enroll("h3");
  const absl::Time h1_sent = clock_.Now();
  ASSERT_TRUE(book_.Accept(Datagram(Report("h1", h1_sent), fleet_.key("h1"))).ok());
  clock_.Advance(absl::Seconds(4));
  agent::v1::HostReport big = Report("h2", clock_.Now());
  big.clear_instances();
  big.set_instances_omitted(true);
  ASSERT_TRUE(book_.Accept(Datagram(big, fleet_.key("h2"))).ok());
  const std::vector<Host> hosts = {{.id = "h1"}, {.id = "h2"}, {.id = "h3"}};

  RecordingPinger dialled;
  ReportedHostPinger pinger(book_, dialled, clock_, absl::Seconds(6));
  std::vector<absl::StatusOr<HostAnswer>> answers = pinger.PingAll(hosts);
  ASSERT_EQ(answers.size(), 3u);
  ASSERT_TRUE(answers[0].ok());
  EXPECT_EQ(answers[0]->at, h1_sent);  // When it arrived, not when it was read.
  EXPECT_EQ(answers[0]->info.installed_build_id(), "9000001");
  ASSERT_TRUE(answers[1].ok());
  EXPECT_EQ(answers[2].status().message(), "dialled");
  EXPECT_THAT(dialled.asked, ElementsAre("h3"));

  RecordingLister listed;
  ReportedInstanceLister lister(book_, listed, clock_, absl::Seconds(6));
  std::vector<absl::StatusOr<agent::v1::ListInstancesResponse>> lists = lister.ListAll(hosts);
  ASSERT_TRUE(lists[0].ok());
  ASSERT_EQ(lists[0]->instances_size(), 1);
  EXPECT_EQ(lists[0]->instances(0).status().state(), agent::v1::INSTANCE_STATE_RUNNING);
  EXPECT_FALSE(lists[1].ok());  // Its instances did not fit: asked.
  EXPECT_THAT(listed.asked, ElementsAre("h2", "h3"));

  EXPECT_THAT(
      HostReportMetrics(book_, pinger),
      ::testing::AllOf(::testing::HasSubstr("l4d2_host_reports_total{result=\"accepted\"} 2"),
                       ::testing::HasSubstr("l4d2_host_reports_total{result=\"refused\"} 0"),
                       ::testing::HasSubstr("l4d2_host_health_dials_total 1")));
  // A report older than the freshness is no answer: h1 is asked.
  clock_.Advance(absl::Seconds(3));
  dialled.asked.clear();
  answers = pinger.PingAll(hosts);
  EXPECT_FALSE(answers[0].ok());
  EXPECT_THAT(dialled.asked, ElementsAre("h1", "h3"));
}

TEST(HostReporterTest, AnAgentReportsOverUdpAtOnceAndSoonAfterAChange) {
  Fleet fleet(absl::Now());
  fleet.Enroll("h1");
  HostReportBook book(fleet.Source(), Clock::Real());
  absl::StatusOr<std::unique_ptr<ReportReceiver>> receiver =
      ReportReceiver::Start("127.0.0.1:0", book);
  ASSERT_TRUE(receiver.ok()) << receiver.status();
  absl::Mutex mutex;
  int instances = 1;
  agent::ReportSources sources{
      .host_info =
          [] {
            agent::v1::HostInfo info;
            info.set_installed_build_id("9000001");
            return absl::StatusOr<agent::v1::HostInfo>(info);
          },
      .instances =
          [&] {
            absl::MutexLock lock(&mutex);
            agent::v1::ListInstancesResponse response;
            for (int i = 0; i < instances; ++i) {
              agent::v1::Instance* instance = response.add_instances();
              instance->set_name(absl::StrCat("coop", i));
              instance->mutable_spec()->set_hostname("kept on the host");
              instance->mutable_spec()->set_port(27015 + i);
              instance->mutable_status()->set_state(agent::v1::INSTANCE_STATE_RUNNING);
            }
            return absl::StatusOr<agent::v1::ListInstancesResponse>(response);
          }};
  absl::StatusOr<tls::Signer> signer = tls::Signer::FromKeyPem(fleet.key("h1"));
  ASSERT_TRUE(signer.ok());
  // An interval far longer than the test: every report after the first is a nudge's.
  absl::StatusOr<std::unique_ptr<agent::HostReporter>> reporter =
      agent::HostReporter::Start({.host_id = *tls::AgentHostId(fleet.certificate("h1")),
                                  .targets = {absl::StrCat("127.0.0.1:", (*receiver)->port())},
                                  .interval = absl::Minutes(10)},
                                 *signer, sources, Clock::Real());
  ASSERT_TRUE(reporter.ok()) << reporter.status();
  auto wait_for = [&](int count) -> std::optional<ReceivedReport> {
    for (absl::Time deadline = absl::Now() + absl::Seconds(5); absl::Now() < deadline;) {
      std::optional<ReceivedReport> latest = book.Latest("h1", absl::InfinitePast());
      if (latest.has_value() && latest->report.instances_size() == count) return latest;
      absl::SleepFor(absl::Milliseconds(10));
    }
    return std::nullopt;
  };
  std::optional<ReceivedReport> first = wait_for(1);
  ASSERT_TRUE(first.has_value()) << "no report at start";
  EXPECT_EQ(first->report.instances(0).name(), "coop0");
  // Of the spec, the port alone travels (it names what an unmanaged instance holds).
  agent::v1::InstanceSpec port_only;
  port_only.set_port(27015);
  EXPECT_EQ(first->report.instances(0).spec().SerializeAsString(), port_only.SerializeAsString())
      << "the rest of the spec stays on the host";
  {
    absl::MutexLock lock(&mutex);
    instances = 3;
  }
  const absl::Time changed = absl::Now();
  (*reporter)->Nudge();
  std::optional<ReceivedReport> after = wait_for(3);
  ASSERT_TRUE(after.has_value()) << "no report after the nudge";
  EXPECT_LT(after->received_at - changed, absl::Seconds(1));
  // Too many instances for one datagram: the report goes without them.
  {
    absl::MutexLock lock(&mutex);
    instances = 10000;
  }
  absl::StatusOr<std::string> datagram = (*reporter)->Datagram();
  ASSERT_TRUE(datagram.ok());
  EXPECT_LE(datagram->size(), kMaxHostReportDatagram);
  agent::v1::SignedHostReport signed_report;
  agent::v1::HostReport report;
  ASSERT_TRUE(signed_report.ParseFromString(*datagram));
  ASSERT_TRUE(report.ParseFromString(signed_report.report()));
  EXPECT_TRUE(report.instances_omitted());
  EXPECT_EQ(report.instances_size(), 0);
  EXPECT_TRUE(book.Accept(*datagram).ok());
}

TEST(HostReporterTest, AReporterNeedsAHostAndWellFormedTargets) {
  Fleet fleet(absl::Now());
  fleet.Enroll("h1");
  tls::Signer signer = *tls::Signer::FromKeyPem(fleet.key("h1"));
  EXPECT_EQ(agent::HostReporter::Start({.host_id = "", .targets = {"127.0.0.1:1"}}, signer, {},
                                       Clock::Real())
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(agent::HostReporter::Start({.host_id = "h1", .targets = {"no-port"}}, signer, {},
                                       Clock::Real())
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(tls::AgentHostId(fleet.certificate("h1")).value_or(""), "h1");
  EXPECT_FALSE(tls::AgentHostId("not a certificate").ok());
}

}  // namespace
}  // namespace l4d2::controller
