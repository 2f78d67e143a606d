#pragma once

// The API's resources, one file each (controller/api/<resource>_routes.cc): each declares its
// routes beside its handlers, and its handlers decode the request, call the stores or a use case
// (controller/jobs/server_actions.h, ...), and encode the answer. rest_api.cc puts them together
// in documentation order. Internal to the api library.

#include <vector>

#include "controller/api/rest_api.h"
#include "controller/api/route.h"
#include "controller/usecases/accounts.h"

namespace l4d2::controller {

void AddSystemRoutes(const RestApiDeps& deps, const RestApiOptions& options,
                     std::vector<Route>& routes);
void AddSessionRoutes(const RestApiDeps& deps, const RestApiOptions& options,
                      std::vector<Route>& routes);
void AddUserRoutes(const RestApiDeps& deps, const RestApiOptions& options,
                   std::vector<Route>& routes);
void AddTokenRoutes(const RestApiDeps& deps, const RestApiOptions& options,
                    std::vector<Route>& routes);
void AddHostRoutes(const RestApiDeps& deps, const RestApiOptions& options,
                   std::vector<Route>& routes);
void AddOverlayRoutes(const RestApiDeps& deps, const RestApiOptions& options,
                      std::vector<Route>& routes);
void AddBlueprintRoutes(const RestApiDeps& deps, const RestApiOptions& options,
                        std::vector<Route>& routes);
void AddServerRoutes(const RestApiDeps& deps, const RestApiOptions& options,
                     std::vector<Route>& routes);
void AddJobRoutes(const RestApiDeps& deps, const RestApiOptions& options,
                  std::vector<Route>& routes);
void AddSummaryRoutes(const RestApiDeps& deps, const RestApiOptions& options,
                      std::vector<Route>& routes);
void AddAuditRoutes(const RestApiDeps& deps, const RestApiOptions& options,
                    std::vector<Route>& routes);
void AddPlayerRoutes(const RestApiDeps& deps, const RestApiOptions& options,
                     std::vector<Route>& routes);
void AddScheduleRoutes(const RestApiDeps& deps, const RestApiOptions& options,
                       std::vector<Route>& routes);
void AddWebhookRoutes(const RestApiDeps& deps, const RestApiOptions& options,
                      std::vector<Route>& routes);
void AddUpdateRoutes(const RestApiDeps& deps, const RestApiOptions& options,
                     std::vector<Route>& routes);
void AddBackupRoutes(const RestApiDeps& deps, const RestApiOptions& options,
                     std::vector<Route>& routes);
// The account use cases over the API's stores; credential changes reach its authenticator.
AccountStores AccountsOf(const RestApiDeps& deps);

// Only with deps.enrollment.
void AddEnrollmentRoutes(const RestApiDeps& deps, const RestApiOptions& options,
                         std::vector<Route>& routes);

}  // namespace l4d2::controller
