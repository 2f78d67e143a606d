#include "controller/api/rest_api.h"

#include "controller/api/authenticator.h"
#include "controller/api/resource_routes.h"

namespace l4d2::controller {

AccountStores AccountsOf(const RestApiDeps& deps) {
  return {.users = deps.users,
          .sessions = deps.sessions,
          .tokens = deps.tokens,
          .audit = deps.stores.audit,
          .credentials_changed = [&authenticator = deps.authenticator](const std::string& id) {
            authenticator.ForgetUser(id);
          }};
}

std::vector<Route> BuildRoutes(const RestApiDeps& deps, const RestApiOptions& options) {
  std::vector<Route> routes;
  for (auto add : {AddSystemRoutes, AddSessionRoutes, AddUserRoutes, AddTokenRoutes, AddHostRoutes,
                   AddOverlayRoutes, AddBlueprintRoutes, AddServerRoutes, AddPlayerRoutes,
                   AddScheduleRoutes, AddWebhookRoutes, AddUpdateRoutes, AddBackupRoutes,
                   AddJobRoutes, AddAuditRoutes, AddSummaryRoutes, AddEnrollmentRoutes}) {
    add(deps, options, routes);
  }
  return routes;
}

}  // namespace l4d2::controller
