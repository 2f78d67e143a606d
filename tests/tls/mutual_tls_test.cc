// Mutual TLS between the controller and an agent, with certificates from the fleet's PKI
// (tls/pki.h), against the agent's real gRPC server: the controller gets through; every
// rejection case of security.md does not. A certificate renewed in place is served without a
// restart, and the controller refuses an agent whose key is not the one it stored for the host
// (a revoked certificate).

#include <fstream>
#include <memory>

#include "absl/time/clock.h"
#include "agent/fleet/agent_certificate.h"
#include "agent/service/grpc_server.h"
#include "controller/jobs/agent_connector.h"
#include "gmock/gmock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "tests/testing/eventually.h"
#include "tests/testing/temp_dir.h"
#include "tls/certificates.h"
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

  // The agent's TLS files for `identity`, in a directory of their own.
  agent::AgentTlsFiles Files(const Identity& identity, const std::string& ca_pem) {
    const std::string prefix = dir_.Sub(std::to_string(files_++));
    agent::AgentTlsFiles files{
        .certificate = prefix + ".pem", .key = prefix + ".key", .ca = prefix + ".ca"};
    std::ofstream(files.certificate) << identity.certificate;
    std::ofstream(files.key) << identity.key;
    std::ofstream(files.ca) << ca_pem;
    return files;
  }

  std::unique_ptr<agent::GrpcServer> Serve(const agent::AgentTlsFiles& files) {
    absl::StatusOr<std::unique_ptr<agent::GrpcServer>> server =
        agent::GrpcServer::Start({.tcp_address = "127.0.0.1:0",
                                  .tls_certificate_file = files.certificate,
                                  .tls_key_file = files.key,
                                  .tls_ca_file = files.ca,
                                  .tls_reload = absl::Seconds(1)},
                                 {});
    EXPECT_TRUE(server.ok()) << server.status();
    return *std::move(server);
  }
  std::unique_ptr<agent::GrpcServer> Serve(const Identity& identity) {
    return Serve(Files(identity, ca_->certificate_pem()));
  }

  // The certificate `server` presents to a new connection (PEM), through the controller's
  // connector without pins.
  std::string Presented(const agent::GrpcServer& server) {
    controller::MutualTlsAgentConnector connector({.certificate_pem = controller_.certificate,
                                                   .key_pem = controller_.key,
                                                   .ca_pem = ca_->certificate_pem()});
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
    agent::v1::HostInfo info;
    connector.Stub({.id = "h1", .address = "127.0.0.1:" + std::to_string(server.tcp_port())})
        ->GetHostInfo(&context, agent::v1::GetHostInfoRequest(), &info);
    std::shared_ptr<const grpc::AuthContext> auth = context.auth_context();
    if (auth == nullptr) return "";
    for (const grpc::string_ref& pem : auth->FindPropertyValues(GRPC_X509_PEM_CERT_PROPERTY_NAME)) {
      return std::string(pem.data(), pem.size());
    }
    return "";
  }

  // GetHostInfo through `connector` to h1 served by `server`: UNIMPLEMENTED means through TLS
  // and the role check (this server runs no AgentService).
  static grpc::StatusCode Call(controller::AgentConnector& connector,
                               const agent::GrpcServer& server) {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
    agent::v1::HostInfo info;
    return connector
        .Stub({.id = "h1", .address = "127.0.0.1:" + std::to_string(server.tcp_port())})
        ->GetHostInfo(&context, agent::v1::GetHostInfoRequest(), &info)
        .error_code();
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

  testing::TempDir dir_;
  int files_ = 0;
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
  // The controller's own connector checks the name itself (its verifier replaces gRPC's).
  controller::MutualTlsAgentConnector connector(
      {.certificate_pem = controller_.certificate, .key_pem = controller_.key, .ca_pem = ca});
  EXPECT_EQ(Call(connector, *impostor), grpc::StatusCode::UNAVAILABLE)
      << "one host acting for another, through the connector";
  EXPECT_EQ(Call(connector, *server_), grpc::StatusCode::UNIMPLEMENTED);
  // A server holding the controller's own certificate is no agent.
  std::unique_ptr<agent::GrpcServer> controller_as_agent = Serve(controller_);
  EXPECT_EQ(Check(*controller_as_agent, &controller_, tls::AgentName("h1"), ca),
            grpc::StatusCode::UNAVAILABLE)
      << "the controller's certificate presented by an agent";
  // An agent whose certificate comes from another CA.
  Identity foreign_agent = Issue(*other_ca_, tls::AgentName("h1"));
  std::unique_ptr<agent::GrpcServer> foreign = Serve(Files(foreign_agent, ca));
  EXPECT_EQ(Check(*foreign, &controller_, tls::AgentName("h1"), ca), grpc::StatusCode::UNAVAILABLE)
      << "an agent from another CA";
}

TEST_F(MutualTlsTest, MissingTlsFilesAreAnErrorAtStart) {
  agent::AgentTlsFiles files = Files(agent_, ca_->certificate_pem());
  files.key = dir_.Sub("no-such.key");
  absl::StatusOr<std::unique_ptr<agent::GrpcServer>> server =
      agent::GrpcServer::Start({.tcp_address = "127.0.0.1:0",
                                .tls_certificate_file = files.certificate,
                                .tls_key_file = files.key,
                                .tls_ca_file = files.ca},
                               {});
  ASSERT_FALSE(server.ok());
  EXPECT_THAT(server.status().message(), ::testing::HasSubstr("no-such.key"));
}

// Issue Isolation, 7: certificates renewed before they expire, without a restart or a new key.
TEST_F(MutualTlsTest, ARenewedCertificateIsServedWithoutARestart) {
  const agent::AgentTlsFiles files = Files(agent_, ca_->certificate_pem());
  std::unique_ptr<agent::GrpcServer> server = Serve(files);
  ASSERT_EQ(Presented(*server), agent_.certificate);
  agent::AgentCertificate certificate(files, Clock::Real());
  // What the agent refuses, writing nothing: another key, another name, another CA, a shorter
  // life, not a certificate.
  const tls::Validity longer{.not_before = absl::Now() - absl::Minutes(5),
                             .not_after = absl::Now() + absl::Hours(48)};
  const Identity other_key = Issue(*ca_, tls::AgentName("h1"), longer);
  const std::string other_name = *ca_->Renew(Issue(*ca_, tls::AgentName("h2")).certificate, longer);
  const std::string other_ca = Issue(*other_ca_, tls::AgentName("h1"), longer).certificate;
  const std::string shorter = *ca_->Renew(
      agent_.certificate,
      {.not_before = absl::Now() - absl::Minutes(5), .not_after = absl::Now() + absl::Hours(1)});
  for (const std::string& refused :
       {other_key.certificate, other_name, other_ca, shorter, std::string("not a certificate")}) {
    EXPECT_EQ(certificate.Install(refused).status().code(), absl::StatusCode::kInvalidArgument);
  }
  EXPECT_EQ(Presented(*server), agent_.certificate);
  // The renewal: same key and name, a new serial, longer.
  absl::StatusOr<std::string> renewed = ca_->Renew(agent_.certificate, longer);
  ASSERT_TRUE(renewed.ok()) << renewed.status();
  const tls::CertificateFacts before = *tls::InspectCertificate(agent_.certificate);
  const tls::CertificateFacts after = *tls::InspectCertificate(*renewed);
  EXPECT_EQ(after.key_sha256, before.key_sha256);
  EXPECT_EQ(after.common_name, tls::AgentName("h1"));
  EXPECT_NE(after.serial, before.serial);
  absl::StatusOr<tls::CertificateFacts> installed = certificate.Install(*renewed);
  ASSERT_TRUE(installed.ok()) << installed.status();
  EXPECT_EQ(installed->serial, after.serial);
  EXPECT_TRUE(
      testing::Eventually([&] { return Presented(*server) == *renewed; }, absl::Seconds(10)))
      << "the server still presents the old certificate";
  // Only the CA's own certificates renew.
  EXPECT_EQ(other_ca_->Renew(agent_.certificate, longer).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(MutualTlsTest, TheControllerRefusesAnAgentWhoseKeyIsNotTheOneStoredForItsHost) {
  std::unique_ptr<agent::GrpcServer> server = Serve(agent_);
  std::string stored = agent_.certificate;
  controller::MutualTlsAgentConnector connector(
      {.certificate_pem = controller_.certificate,
       .key_pem = controller_.key,
       .ca_pem = ca_->certificate_pem()},
      [&](const std::string& id) -> absl::StatusOr<std::string> {
        if (id != "h1") return absl::NotFoundError("unknown host");
        if (stored.empty()) return absl::NotFoundError("revoked");
        return stored;
      });
  EXPECT_EQ(Call(connector, *server), grpc::StatusCode::UNIMPLEMENTED);
  // A renewal over the same key still passes.
  stored = *ca_->Renew(agent_.certificate, Valid());
  connector.Forget("h1");
  EXPECT_EQ(Call(connector, *server), grpc::StatusCode::UNIMPLEMENTED);
  // Revoked: the key stolen with the old certificate is refused at the next handshake, and
  // Forget closes the connection already open.
  stored.clear();
  connector.Forget("h1");
  EXPECT_EQ(Call(connector, *server), grpc::StatusCode::UNAVAILABLE);
  // Enrolled again with a new key: the old key's agent is still refused, the new one gets in.
  const Identity reenrolled = Issue(*ca_, tls::AgentName("h1"));
  stored = reenrolled.certificate;
  connector.Forget("h1");
  EXPECT_EQ(Call(connector, *server), grpc::StatusCode::UNAVAILABLE);
  std::unique_ptr<agent::GrpcServer> new_server = Serve(reenrolled);
  EXPECT_EQ(Call(connector, *new_server), grpc::StatusCode::UNIMPLEMENTED);
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
