#include "common/logging.h"
#include "common/status_macros.h"
#include "controller/api/api_messages.h"
#include "controller/api/api_metrics.h"
#include "controller/api/resource_routes.h"
#include "controller/api/rest_support.h"

namespace l4d2::controller {
namespace {

// Liveness, readiness and metrics.
class SystemRoutes {
 public:
  SystemRoutes(const RestApiDeps& deps, const RestApiOptions& options) : d_(deps) {}

  absl::StatusOr<ApiResponse> Healthz(const ApiRequest&) {
    return ApiResponse{.body = R"({"status":"ok"})"};
  }

  absl::StatusOr<ApiResponse> Readyz(const ApiRequest&) {
    absl::Status db = d_.db.Ping();
    if (!db.ok()) {
      // The database's error stays in the log: it may name hosts or users.
      L4D2_LOG(WARNING) << "readyz: " << db.message();
      return absl::UnavailableError("database unavailable");
    }
    return ApiResponse{.body = R"({"status":"ready"})"};
  }

  absl::StatusOr<ApiResponse> Metrics(const ApiRequest&) {
    absl::StatusOr<std::string> text = d_.metrics.Render();
    if (!text.ok()) return absl::UnavailableError("database unavailable");
    return ApiResponse{.body = *std::move(text),
                       .content_type = "text/plain; version=0.0.4; charset=utf-8"};
  }

 private:
  RestApiDeps d_;
};

}  // namespace

void AddSystemRoutes(const RestApiDeps& deps, const RestApiOptions& options,
                     std::vector<Route>& routes) {
  auto api = std::make_shared<SystemRoutes>(deps, options);
  using M = SystemRoutes;
  auto bind = [api](auto method) { return BindRoute(api, method); };
  AppendRoutes(routes, {
                           {.method = "GET",
                            .path = "/healthz",
                            .access = Access::kPublic,
                            .summary = "The process is alive",
                            .handler = bind(&M::Healthz)},
                           {.method = "GET",
                            .path = "/readyz",
                            .access = Access::kPublic,
                            .summary = "The database answers",
                            .handler = bind(&M::Readyz)},
                           {.method = "GET",
                            .path = "/metrics",
                            .access = Access::kAdmin,
                            .summary = "Prometheus metrics (text format)",
                            .handler = bind(&M::Metrics)},
                       });
}

}  // namespace l4d2::controller
