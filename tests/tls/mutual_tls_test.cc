// Mutual TLS between the controller and an agent, with certificates from the fleet's PKI
// (tls/pki.h), against the agent's real gRPC server: the controller gets through; every
// rejection case of security.md does not.

#include <memory>

#include "absl/time/clock.h"
#include "agent/service/grpc_server.h"
#include "controller/jobs/agent_connector.h"
#include "gmock/gmock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "tls/pki.h"

namespace l4d2 {
namespace {

using ::grpc::health::v1::Health;
using ::grpc::health::v1::HealthCheckRequest;
using ::grpc::health::v1::HealthCheckResponse;

tls::Validity Valid() {
  return {.not_before = absl::Now() - absl::Hours(1), .not_after = absl::Now() + absl::Hours(24)};
}

struct Identity {
  std::string certificate;
  std::string key;
};

Identity Issue(const tls::CertificateAuthority& ca, const std::string& name,
               tls::Validity validity = Valid()) {
  absl::StatusOr<tls::KeyAndRequest> request = tls::NewKeyAndRequest();
  EXPECT_TRUE(request.ok());
  absl::StatusOr<std::string> certificate = ca.Issue(request->request_pem, name, validity);
  EXPECT_TRUE(certificate.ok()) << certificate.status();
  return {*certificate, request->key_pem};
}

class MutualTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ca_ = std::make_unique<tls::CertificateAuthority>(
        *tls::CertificateAuthority::Create("left4me fleet CA", Valid()));
    other_ca_ = std::make_unique<tls::CertificateAuthority>(
        *tls::CertificateAuthority::Create("left4me fleet CA", Valid()));
    agent_ = Issue(*ca_, tls::AgentName("h1"));
    controller_ = Issue(*ca_, tls::kControllerName);
    server_ = Serve(agent_);
  }

  std::unique_ptr<agent::GrpcServer> Serve(const Identity& identity) {
    absl::StatusOr<std::unique_ptr<agent::GrpcServer>> server =
        agent::GrpcServer::Start({.tcp_address = "127.0.0.1:0",
                                  .tls_certificate = identity.certificate,
                                  .tls_key = identity.key,
                                  .tls_ca = ca_->certificate_pem()},
                                 {});
    EXPECT_TRUE(server.ok()) << server.status();
    return *std::move(server);
  }

  // A health check over TLS with `client` (none: no client certificate), expecting the server
  // to be `expected_name`, trusting `ca`.
  grpc::StatusCode Check(const agent::GrpcServer& server, const Identity* client,
                         const std::string& expected_name, const std::string& ca) {
    grpc::SslCredentialsOptions options;
    options.pem_root_certs = ca;
    if (client != nullptr) {
      options.pem_cert_chain = client->certificate;
      options.pem_private_key = client->key;
    }
    grpc::ChannelArguments arguments;
    arguments.SetSslTargetNameOverride(expected_name);
    auto stub =
        Health::NewStub(grpc::CreateCustomChannel("127.0.0.1:" + std::to_string(server.tcp_port()),
                                                  grpc::SslCredentials(options), arguments));
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
    HealthCheckResponse response;
    return stub->Check(&context, HealthCheckRequest(), &response).error_code();
  }

  std::unique_ptr<tls::CertificateAuthority> ca_;
  std::unique_ptr<tls::CertificateAuthority> other_ca_;
  Identity agent_;
  Identity controller_;
  std::unique_ptr<agent::GrpcServer> server_;
};

TEST_F(MutualTlsTest, TheControllerGetsThrough) {
  EXPECT_EQ(Check(*server_, &controller_, tls::AgentName("h1"), ca_->certificate_pem()),
            grpc::StatusCode::OK);
  // And through the controller's connector, to the agent's API.
  controller::MutualTlsAgentConnector connector({.certificate_pem = controller_.certificate,
                                                 .key_pem = controller_.key,
                                                 .ca_pem = ca_->certificate_pem()});
  auto stub =
      connector.Stub({.id = "h1", .address = "127.0.0.1:" + std::to_string(server_->tcp_port())});
  grpc::ClientContext context;
  agent::v1::HostInfo info;
  // Through TLS and the role check; this server runs no AgentService.
  EXPECT_EQ(stub->GetHostInfo(&context, agent::v1::GetHostInfoRequest(), &info).error_code(),
            grpc::StatusCode::UNIMPLEMENTED);
}

TEST_F(MutualTlsTest, ClientsWithoutTheControllersCertificateAreRefused) {
  const std::string name = tls::AgentName("h1");
  const std::string ca = ca_->certificate_pem();
  EXPECT_EQ(Check(*server_, nullptr, name, ca), grpc::StatusCode::UNAVAILABLE) << "no certificate";
  auto self_signed = *tls::SelfSignedCertificate(tls::kControllerName, Valid());
  Identity forged{self_signed.first, self_signed.second};
  EXPECT_EQ(Check(*server_, &forged, name, ca), grpc::StatusCode::UNAVAILABLE) << "self-signed";
  Identity foreign = Issue(*other_ca_, tls::kControllerName);
  EXPECT_EQ(Check(*server_, &foreign, name, ca), grpc::StatusCode::UNAVAILABLE) << "another CA";
  Identity expired = Issue(
      *ca_, tls::kControllerName,
      {.not_before = absl::Now() - absl::Hours(48), .not_after = absl::Now() - absl::Hours(24)});
  EXPECT_EQ(Check(*server_, &expired, name, ca), grpc::StatusCode::UNAVAILABLE) << "expired";
  Identity early = Issue(
      *ca_, tls::kControllerName,
      {.not_before = absl::Now() + absl::Hours(24), .not_after = absl::Now() + absl::Hours(48)});
  EXPECT_EQ(Check(*server_, &early, name, ca), grpc::StatusCode::UNAVAILABLE) << "not yet valid";
  // A genuine agent certificate does not make its holder a controller.
  Identity other_agent = Issue(*ca_, tls::AgentName("h2"));
  EXPECT_EQ(Check(*server_, &other_agent, name, ca), grpc::StatusCode::UNAUTHENTICATED)
      << "an agent acting as controller";
}

TEST_F(MutualTlsTest, TheControllerAcceptsOnlyTheAgentOfTheHostItDials) {
  const std::string ca = ca_->certificate_pem();
  // Host h2's agent answering where h1 was expected.
  std::unique_ptr<agent::GrpcServer> impostor = Serve(Issue(*ca_, tls::AgentName("h2")));
  EXPECT_EQ(Check(*impostor, &controller_, tls::AgentName("h1"), ca), grpc::StatusCode::UNAVAILABLE)
      << "one host acting for another";
  // A server holding the controller's own certificate is no agent.
  std::unique_ptr<agent::GrpcServer> controller_as_agent = Serve(controller_);
  EXPECT_EQ(Check(*controller_as_agent, &controller_, tls::AgentName("h1"), ca),
            grpc::StatusCode::UNAVAILABLE)
      << "the controller's certificate presented by an agent";
  // An agent whose certificate comes from another CA.
  Identity foreign_agent = Issue(*other_ca_, tls::AgentName("h1"));
  absl::StatusOr<std::unique_ptr<agent::GrpcServer>> foreign =
      agent::GrpcServer::Start({.tcp_address = "127.0.0.1:0",
                                .tls_certificate = foreign_agent.certificate,
                                .tls_key = foreign_agent.key,
                                .tls_ca = ca},
                               {});
  ASSERT_TRUE(foreign.ok());
  EXPECT_EQ(Check(**foreign, &controller_, tls::AgentName("h1"), ca), grpc::StatusCode::UNAVAILABLE)
      << "an agent from another CA";
}

TEST(PkiTest, TheCaSetsTheNameAndRefusesForgedRequests) {
  auto ca = tls::CertificateAuthority::Create("left4me fleet CA", Valid());
  ASSERT_TRUE(ca.ok()) << ca.status();
  absl::StatusOr<tls::KeyAndRequest> request = tls::NewKeyAndRequest();
  ASSERT_TRUE(request.ok());
  std::string forged = request->request_pem;
  forged[forged.size() / 2] = forged[forged.size() / 2] == 'A' ? 'B' : 'A';
  EXPECT_EQ(ca->Issue(forged, "x.agent.left4me", Valid()).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ca->Issue("not a request", "x", Valid()).status().code(),
            absl::StatusCode::kInvalidArgument);
  auto other = tls::CertificateAuthority::Create("other", Valid());
  EXPECT_EQ(
      tls::CertificateAuthority::Load(ca->certificate_pem(), other->key_pem()).status().code(),
      absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(tls::CertificateAuthority::Load(ca->certificate_pem(), ca->key_pem()).ok());
}

}  // namespace
}  // namespace l4d2
