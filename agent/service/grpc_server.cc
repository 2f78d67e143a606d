#include "agent/service/grpc_server.h"

#include <grp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "absl/strings/str_cat.h"
#include "common/clock.h"
#include "common/file_util.h"
#include "common/logging.h"
#include "common/status_macros.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/security/auth_metadata_processor.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/security/tls_certificate_provider.h"
#include "grpcpp/security/tls_credentials_options.h"
#include "tls/pki.h"

namespace l4d2::agent {

namespace {

// Lets a call through only when the client's (CA-verified) certificate names the controller:
// an agent's certificate, valid as it is, does not make its holder a controller.
class ControllerOnly final : public grpc::AuthMetadataProcessor {
 public:
  bool IsBlocking() const override { return false; }
  grpc::Status Process(const InputMetadata&, grpc::AuthContext* context, OutputMetadata*,
                       OutputMetadata*) override {
    for (const grpc::string_ref& name : context->FindPropertyValues(GRPC_X509_SAN_PROPERTY_NAME)) {
      if (std::string(name.data(), name.size()) == tls::kControllerName) {
        return grpc::Status::OK;
      }
    }
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                        "only the controller's certificate may call this agent");
  }
};

// Fails early, naming the file, where gRPC would only log and refuse every handshake.
absl::Status CheckTlsFiles(const GrpcServerOptions& options) {
  for (const std::string* path :
       {&options.tls_certificate_file, &options.tls_key_file, &options.tls_ca_file}) {
    absl::StatusOr<std::string> text = ReadFileToString(*path, 1 << 20);
    if (!text.ok()) return text.status();
  }
  return absl::OkStatus();
}

// Client certificates required and verified against the fleet CA, callers limited to the
// controller; the files watched, so that a certificate renewed in place is served.
std::shared_ptr<grpc::ServerCredentials> MutualTlsCredentials(const GrpcServerOptions& options) {
  auto files = std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
      options.tls_key_file, options.tls_certificate_file, options.tls_ca_file,
      static_cast<unsigned>(std::max<int64_t>(1, absl::ToInt64Seconds(options.tls_reload))));
  grpc::experimental::TlsServerCredentialsOptions tls(files);
  tls.watch_root_certs();
  tls.watch_identity_key_cert_pairs();
  tls.set_cert_request_type(GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  std::shared_ptr<grpc::ServerCredentials> credentials =
      grpc::experimental::TlsServerCredentials(tls);
  credentials->SetAuthMetadataProcessor(std::make_shared<ControllerOnly>());
  return credentials;
}

}  // namespace
namespace {

absl::Status PrepareSocketDirectory(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos || slash == 0) return absl::OkStatus();
  std::string dir = path.substr(0, slash);
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
    return ErrnoError(errno, "create directory", dir);
  }
  return absl::OkStatus();
}

absl::Status ApplySocketPermissions(const GrpcServerOptions& options) {
  if (!options.unix_group.empty()) {
    struct group* group = ::getgrnam(options.unix_group.c_str());
    if (group == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown group '", options.unix_group, "' for the unix socket"));
    }
    if (::chown(options.unix_path.c_str(), static_cast<uid_t>(-1), group->gr_gid) != 0) {
      return ErrnoError(errno, "chown", options.unix_path);
    }
  }
  if (::chmod(options.unix_path.c_str(), options.unix_mode) != 0) {
    return ErrnoError(errno, "chmod", options.unix_path);
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<GrpcServer>> GrpcServer::Start(
    const GrpcServerOptions& options,
    const std::vector<std::pair<std::string, grpc::Service*>>& services) {
  // Process-wide switches; both must precede the first ServerBuilder.
  grpc::EnableDefaultHealthCheckService(false);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();

  std::unique_ptr<GrpcServer> server(new GrpcServer());
  grpc::ServerBuilder builder;
  // Dead peers must not hold streams open for minutes, and clients that ping as configured in
  // docs/agent-api.md must not be sent GOAWAY.
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, 30000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 10000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 10000);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PING_STRIKES, 0);
  // gRPC sets SO_REUSEPORT by default, which would let a second agent share the port
  // silently; a taken port must be an error.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);

  if (!options.tcp_address.empty()) {
    std::shared_ptr<grpc::ServerCredentials> credentials = grpc::InsecureServerCredentials();
    if (!options.tls_certificate_file.empty()) {
      L4D2_RETURN_IF_ERROR(CheckTlsFiles(options));
      credentials = MutualTlsCredentials(options);
    }
    builder.AddListeningPort(options.tcp_address, credentials, &server->tcp_port_);
  }
  if (!options.unix_path.empty()) {
    absl::Status prepared = PrepareSocketDirectory(options.unix_path);
    if (!prepared.ok()) return prepared;
    // gRPC removes a stale socket file left by a crashed predecessor before binding.
    builder.AddListeningPort(absl::StrCat("unix:", options.unix_path),
                             grpc::InsecureServerCredentials());
  }
  for (const auto& [name, service] : services) builder.RegisterService(service);
  builder.RegisterService(&server->health_);

  server->server_ = builder.BuildAndStart();
  if (server->server_ == nullptr) {
    return absl::UnavailableError(absl::StrCat("failed to start the gRPC server on '",
                                               options.tcp_address, "' / '", options.unix_path,
                                               "' (address in use or not permitted?)"));
  }
  if (!options.tcp_address.empty() && server->tcp_port_ == 0) {
    server->server_->Shutdown();
    return absl::UnavailableError(absl::StrCat("failed to listen on '", options.tcp_address, "'"));
  }
  if (!options.unix_path.empty()) {
    server->unix_path_ = options.unix_path;
    absl::Status permissions = ApplySocketPermissions(options);
    if (!permissions.ok()) {
      server->Shutdown(absl::ZeroDuration());
      return permissions;
    }
  }
  server->health_.SetStatus("", grpc::health::v1::HealthCheckResponse::SERVING);
  for (const auto& [name, service] : services) {
    server->health_.SetStatus(name, grpc::health::v1::HealthCheckResponse::SERVING);
  }
  return server;
}

GrpcServer::~GrpcServer() { Shutdown(absl::ZeroDuration()); }

void GrpcServer::Shutdown(absl::Duration grace) {
  if (shut_down_ || server_ == nullptr) return;
  shut_down_ = true;
  health_.Shutdown();
  server_->Shutdown(absl::ToChronoTime(RealDeadline(grace)));
  server_->Wait();
  if (!unix_path_.empty()) ::unlink(unix_path_.c_str());
}

}  // namespace l4d2::agent
