#pragma once

// Builds and runs the agent's gRPC server: the given services, the standard health service and
// server reflection, on a TCP address and/or a unix socket, with keepalive configured.
//
// Thread-safe after Start(). Shutdown() waits at most `grace` for in-flight calls, then
// cancels them; it is idempotent and also runs in the destructor.

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "agent/service/health_service.h"
#include "grpcpp/server.h"

namespace l4d2::agent {

struct GrpcServerOptions {
  // "host:port"; port 0 picks a free port (see GrpcServer::tcp_port()). Empty: no TCP.
  std::string tcp_address;
  // Socket path; its directory is created if missing. Empty: no unix socket.
  std::string unix_path;
  mode_t unix_mode = 0660;
  // Group owning the socket; empty keeps the process's group.
  std::string unix_group;
  // Mutual TLS on the TCP listener: paths of PEM files (all three or none), the agent's
  // certificate and key, and the fleet CA. Clients must present a certificate from that CA
  // naming the controller (tls/pki.h); anything else is refused. The files are read again every
  // `tls_reload`: a renewed certificate written in place (fleet/agent_certificate.h) is served
  // to new connections without a restart. The unix socket stays local and plaintext.
  std::string tls_certificate_file;
  std::string tls_key_file;
  std::string tls_ca_file;
  absl::Duration tls_reload = absl::Minutes(1);
};

class GrpcServer {
 public:
  // Starts serving. `services` (with their full proto names, for the health service) must
  // outlive the server. Errors: UNAVAILABLE when a listener cannot be bound,
  // INVALID_ARGUMENT for an unknown group.
  static absl::StatusOr<std::unique_ptr<GrpcServer>> Start(
      const GrpcServerOptions& options,
      const std::vector<std::pair<std::string, grpc::Service*>>& services);

  GrpcServer(const GrpcServer&) = delete;
  GrpcServer& operator=(const GrpcServer&) = delete;
  ~GrpcServer();

  // The bound TCP port (useful with port 0); 0 without TCP.
  int tcp_port() const { return tcp_port_; }
  HealthService& health() { return health_; }

  void Shutdown(absl::Duration grace);

 private:
  GrpcServer() = default;

  HealthService health_;
  std::unique_ptr<grpc::Server> server_;
  int tcp_port_ = 0;
  std::string unix_path_;
  bool shut_down_ = false;
};

}  // namespace l4d2::agent
