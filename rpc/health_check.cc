#include "rpc/health_check.h"

#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/create_channel.h"

namespace l4d2 {

bool AnswersHealthCheck(const std::string& target, absl::Time deadline, bool wait_for_ready) {
  auto stub = grpc::health::v1::Health::NewStub(
      grpc::CreateChannel(target, grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(deadline));
  context.set_wait_for_ready(wait_for_ready);
  grpc::health::v1::HealthCheckResponse response;
  return stub->Check(&context, grpc::health::v1::HealthCheckRequest(), &response).ok() &&
         response.status() == grpc::health::v1::HealthCheckResponse::SERVING;
}

}  // namespace l4d2
