#include "common/logging.h"
#include "common/status_macros.h"
#include "controller/api/api_messages.h"
#include "controller/api/resource_routes.h"
#include "controller/api/rest_support.h"
#include "l4d2/controller/v1/enrollment.pb.h"

namespace l4d2::controller {
namespace {

// Agents joining the fleet.
class EnrollmentRoutes {
 public:
  EnrollmentRoutes(const RestApiDeps& deps, const RestApiOptions& options) : d_(deps) {}

  absl::StatusOr<ApiResponse> Enroll(const ApiRequest& request) {
    L4D2_ASSIGN_OR_RETURN(v1::EnrollRequest enroll, Body<v1::EnrollRequest>(request));
    L4D2_ASSIGN_OR_RETURN(v1::EnrollResponse enrolled, d_.enrollment->Enroll(enroll));
    L4D2_LOG(INFO) << "host " << enrolled.host_id() << " enrolled";
    // Enrolled again after a revocation: channels and report checks start from the new key.
    d_.agents.Forget(enrolled.host_id());
    if (d_.certificate_changed) d_.certificate_changed(enrolled.host_id());
    return Json(enrolled);
  }

 private:
  RestApiDeps d_;
};

}  // namespace

void AddEnrollmentRoutes(const RestApiDeps& deps, const RestApiOptions& options,
                         std::vector<Route>& routes) {
  auto api = std::make_shared<EnrollmentRoutes>(deps, options);
  using M = EnrollmentRoutes;
  auto bind = [api](auto method) { return BindRoute(api, method); };
  if (deps.enrollment == nullptr) return;
  AppendRoutes(routes, {
                           {.method = "POST",
                            .path = "/api/v1/enroll",
                            .access = Access::kPublic,
                            .summary = "An agent's enrollment with its one-time token",
                            .request = v1::EnrollRequest::descriptor(),
                            .response = v1::EnrollResponse::descriptor(),
                            .handler = bind(&M::Enroll)},
                       });
}

}  // namespace l4d2::controller
