#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "controller/api/api_messages.h"
#include "controller/api/resource_routes.h"
#include "controller/api/rest_support.h"
#include "controller/usecases/catalog.h"

namespace l4d2::controller {
namespace {

// Blueprints.
class BlueprintRoutes {
 public:
  BlueprintRoutes(const RestApiDeps& deps, const RestApiOptions& options) : d_(deps) {}

  // Paged in SQL (keyset over name and id): a page costs the page.
  absl::StatusOr<ApiResponse> ListBlueprints(const ApiRequest& request) {
    L4D2_ASSIGN_OR_RETURN(PageRequest page, ParsePage(request));
    // Ids and revisions from an index; full rows only for those not shown at that revision.
    L4D2_ASSIGN_OR_RETURN(
        std::vector<RowRevision> rows,
        d_.stores.blueprints.ListRevisions(request.actor, {.name_prefix = request.Query("q"),
                                                           .after = PageAfter(page),
                                                           .limit = page.limit + 1}));
    return MemoPage(json_, rows, page, [&](absl::Span<const std::string> ids) {
      return d_.stores.blueprints.GetMany(request.actor, ids);
    });
  }

  static BlueprintInput ToInput(const v1::BlueprintInput& input) {
    BlueprintInput out{.name = input.name(), .settings = input.settings()};
    for (const v1::BlueprintOverlay& overlay : input.overlays()) {
      out.overlays.push_back(
          {.overlay_id = overlay.overlay_id(), .exec_server_cfg = overlay.exec_server_cfg()});
    }
    return out;
  }

  absl::StatusOr<ApiResponse> CreateBlueprint(const ApiRequest& request) {
    L4D2_ASSIGN_OR_RETURN(v1::BlueprintInput input, Body<v1::BlueprintInput>(request));
    L4D2_ASSIGN_OR_RETURN(Blueprint blueprint,
                          controller::CreateBlueprint(d_.stores, request.actor, ToInput(input)));
    return Json(ToApi(blueprint), 201);
  }

  absl::StatusOr<ApiResponse> GetBlueprint(const ApiRequest& request) {
    L4D2_ASSIGN_OR_RETURN(Blueprint blueprint,
                          d_.stores.blueprints.Get(request.actor, request.Param("id")));
    return Json(ToApi(blueprint));
  }

  absl::StatusOr<ApiResponse> UpdateBlueprint(const ApiRequest& request) {
    L4D2_ASSIGN_OR_RETURN(v1::BlueprintInput input, Body<v1::BlueprintInput>(request));
    L4D2_ASSIGN_OR_RETURN(
        Blueprint blueprint,
        controller::UpdateBlueprint(d_.stores, request.actor, request.Param("id"), ToInput(input)));
    return Json(ToApi(blueprint));
  }

  absl::StatusOr<ApiResponse> DeleteBlueprint(const ApiRequest& request) {
    L4D2_RETURN_IF_ERROR(
        controller::DeleteBlueprint(d_.stores, request.actor, request.Param("id")));
    return NoContent();
  }

 private:
  RestApiDeps d_;
  RowJsonMemo<Blueprint> json_{"blueprints",
                               [](const Blueprint& row) { return ToJson(ToApi(row)); }};
};

}  // namespace

void AddBlueprintRoutes(const RestApiDeps& deps, const RestApiOptions& options,
                        std::vector<Route>& routes) {
  auto api = std::make_shared<BlueprintRoutes>(deps, options);
  using M = BlueprintRoutes;
  auto bind = [api](auto method) { return BindRoute(api, method); };
  AppendRoutes(routes,
               {
                   {.method = "GET",
                    .path = "/api/v1/blueprints",
                    .summary = "Blueprints",
                    .response = v1::ListBlueprintsResponse::descriptor(),
                    .query = {"q", "limit", "page_token"},
                    .handler = bind(&M::ListBlueprints)},
                   {.method = "POST",
                    .path = "/api/v1/blueprints",
                    .summary = "Create a blueprint",
                    .request = v1::BlueprintInput::descriptor(),
                    .response = v1::Blueprint::descriptor(),
                    .success_status = 201,
                    .handler = bind(&M::CreateBlueprint)},
                   {.method = "GET",
                    .path = "/api/v1/blueprints/{id}",
                    .summary = "One blueprint",
                    .response = v1::Blueprint::descriptor(),
                    .handler = bind(&M::GetBlueprint)},
                   {.method = "PUT",
                    .path = "/api/v1/blueprints/{id}",
                    .summary = "Change a blueprint (servers pick it up at their next action)",
                    .request = v1::BlueprintInput::descriptor(),
                    .response = v1::Blueprint::descriptor(),
                    .handler = bind(&M::UpdateBlueprint)},
                   {.method = "DELETE",
                    .path = "/api/v1/blueprints/{id}",
                    .summary = "Delete a blueprint no server uses",
                    .success_status = 204,
                    .handler = bind(&M::DeleteBlueprint)},
               });
}

}  // namespace l4d2::controller
