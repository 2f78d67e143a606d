// The host store's contract on SQLite and PostgreSQL (tests/controller/store/backend_test.h).

#include "controller/store/hosts.h"

#include "controller/store/migrations.h"
#include "gmock/gmock.h"
#include "tests/controller/store/backend_test.h"

namespace l4d2::controller {
namespace {

class HostStoreTest : public BackendTest {
 protected:
  void SetUp() override {
    BackendTest::SetUp();
    if (IsSkipped()) return;
    ASSERT_TRUE(ApplyMigrations(*db_, ControllerMigrations(), clock_).ok());
    hosts_ = std::make_unique<HostStore>(*db_, clock_);
  }
  std::unique_ptr<HostStore> hosts_;
};

TEST_P(HostStoreTest, AHostEnrollsOnceWithItsTokenBeforeItExpires) {
  auto created = hosts_->Create({.name = "fra-1", .address = "10.0.0.5:7543"}, absl::Hours(1));
  ASSERT_TRUE(created.ok()) << created.status();
  const auto& [host, token] = *created;
  EXPECT_EQ(host.state, "enrolling");
  EXPECT_EQ(token.size(), 64u);  // 256 bits.
  EXPECT_EQ(
      hosts_->Create({.name = "fra-1", .address = "10.0.0.6:7543"}, absl::Hours(1)).status().code(),
      absl::StatusCode::kAlreadyExists);

  EXPECT_EQ(hosts_->RedeemEnrollmentToken(std::string(64, '0')).status().code(),
            absl::StatusCode::kUnauthenticated);
  absl::StatusOr<Host> enrolled = hosts_->RedeemEnrollmentToken(token);
  ASSERT_TRUE(enrolled.ok()) << enrolled.status();
  EXPECT_EQ(enrolled->id, host.id);
  EXPECT_EQ(enrolled->state, "ready");
  EXPECT_TRUE(enrolled->last_seen.has_value());
  EXPECT_EQ(hosts_->RedeemEnrollmentToken(token).status().code(),
            absl::StatusCode::kUnauthenticated)
      << "a token is single use";

  auto late = hosts_->Create({.name = "fra-2", .address = "10.0.0.6:7543"}, absl::Minutes(10));
  ASSERT_TRUE(late.ok());
  clock_.Advance(absl::Minutes(11));
  EXPECT_EQ(hosts_->RedeemEnrollmentToken(late->second).status().code(),
            absl::StatusCode::kUnauthenticated)
      << "an expired token";

  ASSERT_TRUE(hosts_->SetInstalledBuild(host.id, "9000001").ok());
  absl::StatusOr<std::vector<Host>> all = hosts_->List();
  ASSERT_TRUE(all.ok()) << all.status();
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].name, "fra-1");
  EXPECT_EQ((*all)[0].installed_build, "9000001");
  EXPECT_EQ((*all)[1].state, "enrolling");
  EXPECT_EQ(hosts_->Get("h0").status().code(), absl::StatusCode::kNotFound);
}

// Issue Isolation, 7: renewal replaces only the certificate it renewed; revocation forgets it
// and gives the host a new token.
TEST_P(HostStoreTest, CertificatesAreReplacedOnlyInTurnAndRevokedWithANewToken) {
  auto created = hosts_->Create({.name = "fra-1", .address = "10.0.0.5:7543"}, absl::Hours(1));
  ASSERT_TRUE(created.ok()) << created.status();
  const std::string id = created->first.id;
  ASSERT_TRUE(hosts_->RedeemEnrollmentToken(created->second, "first").ok());
  ASSERT_TRUE(hosts_->Create({.name = "fra-2", .address = "10.0.0.6:7543"}, absl::Hours(1)).ok());
  EXPECT_THAT(*hosts_->Certificates(),
              ::testing::ElementsAre(std::pair<std::string, std::string>(id, "first")))
      << "only enrolled hosts";

  ASSERT_TRUE(hosts_->ReplaceCertificate(id, "first", "second").ok());
  EXPECT_EQ(*hosts_->Certificate(id), "second");
  // Another controller renewing from the old one loses, and changes nothing.
  EXPECT_EQ(hosts_->ReplaceCertificate(id, "first", "third").code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(*hosts_->Certificate(id), "second");

  absl::StatusOr<std::string> token = hosts_->RevokeCertificate(id, absl::Hours(1));
  ASSERT_TRUE(token.ok()) << token.status();
  EXPECT_EQ(token->size(), 64u);
  EXPECT_FALSE(hosts_->Certificate(id).ok());
  EXPECT_EQ(hosts_->Get(id)->state, "enrolling");
  EXPECT_THAT(*hosts_->Certificates(), ::testing::IsEmpty());
  EXPECT_EQ(hosts_->ReplaceCertificate(id, "second", "third").code(),
            absl::StatusCode::kFailedPrecondition)
      << "a renewal in flight does not bring a revoked certificate back";
  EXPECT_EQ(hosts_->RevokeCertificate("h0", absl::Hours(1)).status().code(),
            absl::StatusCode::kNotFound);
  // Enrolled again with the new token (a new key on the agent).
  absl::StatusOr<Host> again = hosts_->RedeemEnrollmentToken(*token, "fourth");
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->id, id);
  EXPECT_EQ(*hosts_->Certificate(id), "fourth");
}

TEST_P(HostStoreTest, BadHostsAreRefused) {
  for (const NewHost& bad : std::vector<NewHost>{
           {.name = "Bad Name", .address = "10.0.0.5:7543"},
           {.name = "ok", .address = "10.0.0.5"},
           {.name = "ok", .address = "10.0.0.5:0"},
           {.name = "ok", .address = "user@10.0.0.5:22"},
           {.name = "ok", .address = "10.0.0.5:7543", .port_first = 80},
           {.name = "ok", .address = "10.0.0.5:7543", .port_first = 30000, .port_last = 29000}}) {
    EXPECT_EQ(hosts_->Create(bad, absl::Hours(1)).status().code(),
              absl::StatusCode::kInvalidArgument)
        << bad.name << " " << bad.address;
  }
  EXPECT_TRUE(hosts_->List()->empty());
}

// What is taken on a host, as reports and creates tell it, is kept as given and read back.
TEST_P(HostStoreTest, PortsInUseAndUnmanagedInstancesAreKept) {
  auto created = hosts_->Create({.name = "fra-1", .address = "10.0.0.5:7543"}, absl::Hours(1));
  ASSERT_TRUE(created.ok());
  const std::string id = created->first.id;
  EXPECT_TRUE(hosts_->Get(id)->ports_in_use.empty());
  ASSERT_TRUE(hosts_->SetPortsInUse(id, {27015, 27020}).ok());
  ASSERT_TRUE(hosts_->AddPortInUse(id, 27017).ok());
  ASSERT_TRUE(hosts_->AddPortInUse(id, 27017).ok());
  EXPECT_THAT(hosts_->Get(id)->ports_in_use, ::testing::ElementsAre(27015, 27017, 27020));
  EXPECT_EQ(hosts_->AddPortInUse("nope", 27015).code(), absl::StatusCode::kNotFound);
  const std::vector<UnmanagedInstance> unmanaged = {{"by-hand", 27016, "running"},
                                                    {"old_1", 0, "missing"}};
  ASSERT_TRUE(hosts_->SetUnmanaged(id, unmanaged).ok());
  EXPECT_EQ(hosts_->Get(id)->unmanaged, unmanaged);
  EXPECT_EQ(hosts_->List()->front().unmanaged, unmanaged);
  ASSERT_TRUE(hosts_->SetPortsInUse(id, {}).ok());
  ASSERT_TRUE(hosts_->SetUnmanaged(id, {}).ok());
  EXPECT_TRUE(hosts_->Get(id)->ports_in_use.empty());
  EXPECT_TRUE(hosts_->Get(id)->unmanaged.empty());
}

L4D2_INSTANTIATE_BACKEND_TEST(HostStoreTest);

}  // namespace
}  // namespace l4d2::controller
