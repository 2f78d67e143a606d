#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "controller/api/api_messages.h"
#include "controller/api/resource_routes.h"
#include "controller/api/rest_support.h"
#include "controller/usecases/catalog.h"

namespace l4d2::controller {
namespace {

// Overlays: global ones and each user's own.
class OverlayRoutes {
 public:
  OverlayRoutes(const RestApiDeps& deps, const RestApiOptions& options) : d_(deps) {}

  // Paged in SQL (keyset over ref and id): a page costs the page.
  absl::StatusOr<ApiResponse> ListOverlays(const ApiRequest& request) {
    L4D2_ASSIGN_OR_RETURN(PageRequest page, ParsePage(request));
    L4D2_ASSIGN_OR_RETURN(bool only_global, BoolQuery(request, "global"));
    std::optional<bool> global;
    if (!request.Query("global").empty()) global = only_global;
    // Ids and revisions from an index; full rows only for those not shown at that revision.
    L4D2_ASSIGN_OR_RETURN(
        std::vector<RowRevision> rows,
        d_.stores.overlays.ListRevisions(
            request.actor,
            {.name_prefix = request.Query("q"), .after = PageAfter(page), .limit = page.limit + 1},
            global));
    return MemoPage(json_, rows, page, [&](absl::Span<const std::string> ids) {
      return d_.stores.overlays.GetMany(request.actor, ids);
    });
  }

  absl::StatusOr<ApiResponse> CreateOverlay(const ApiRequest& request) {
    L4D2_ASSIGN_OR_RETURN(v1::CreateOverlayRequest create, Body<v1::CreateOverlayRequest>(request));
    L4D2_ASSIGN_OR_RETURN(Overlay overlay,
                          controller::CreateOverlay(d_.stores, request.actor, create.ref(),
                                                    create.global(), create.source()));
    return Json(ToApi(overlay), 201);
  }

  absl::StatusOr<ApiResponse> GetOverlay(const ApiRequest& request) {
    L4D2_ASSIGN_OR_RETURN(Overlay overlay,
                          d_.stores.overlays.Get(request.actor, request.Param("id")));
    return Json(ToApi(overlay));
  }

  absl::StatusOr<ApiResponse> UpdateOverlay(const ApiRequest& request) {
    L4D2_ASSIGN_OR_RETURN(v1::UpdateOverlayRequest update, Body<v1::UpdateOverlayRequest>(request));
    L4D2_ASSIGN_OR_RETURN(
        Overlay overlay,
        controller::UpdateOverlay(d_.stores, request.actor, request.Param("id"), update.source()));
    return Json(ToApi(overlay));
  }

  absl::StatusOr<ApiResponse> DeleteOverlay(const ApiRequest& request) {
    L4D2_RETURN_IF_ERROR(controller::DeleteOverlay(d_.stores, request.actor, request.Param("id")));
    return NoContent();
  }

  absl::StatusOr<ApiResponse> SyncOverlay(const ApiRequest& request) {
    L4D2_ASSIGN_OR_RETURN(std::vector<std::string> jobs,
                          controller::SyncOverlay(d_.stores, request.actor, request.Param("id")));
    v1::JobRefs refs;
    for (const std::string& job : jobs) refs.add_job_ids(job);
    return Json(refs, 202);
  }

 private:
  RestApiDeps d_;
  RowJsonMemo<Overlay> json_{"overlays", [](const Overlay& row) { return ToJson(ToApi(row)); }};
};

}  // namespace

void AddOverlayRoutes(const RestApiDeps& deps, const RestApiOptions& options,
                      std::vector<Route>& routes) {
  auto api = std::make_shared<OverlayRoutes>(deps, options);
  using M = OverlayRoutes;
  auto bind = [api](auto method) { return BindRoute(api, method); };
  AppendRoutes(routes, {
                           {.method = "GET",
                            .path = "/api/v1/overlays",
                            .summary = "Overlays: global ones and one's own",
                            .response = v1::ListOverlaysResponse::descriptor(),
                            .query = {"global", "q", "limit", "page_token"},
                            .handler = bind(&M::ListOverlays)},
                           {.method = "POST",
                            .path = "/api/v1/overlays",
                            .summary = "Create an overlay",
                            .request = v1::CreateOverlayRequest::descriptor(),
                            .response = v1::Overlay::descriptor(),
                            .success_status = 201,
                            .handler = bind(&M::CreateOverlay)},
                           {.method = "GET",
                            .path = "/api/v1/overlays/{id}",
                            .summary = "One overlay",
                            .response = v1::Overlay::descriptor(),
                            .handler = bind(&M::GetOverlay)},
                           {.method = "PUT",
                            .path = "/api/v1/overlays/{id}",
                            .summary = "Change an overlay's source (a new revision)",
                            .request = v1::UpdateOverlayRequest::descriptor(),
                            .response = v1::Overlay::descriptor(),
                            .handler = bind(&M::UpdateOverlay)},
                           {.method = "DELETE",
                            .path = "/api/v1/overlays/{id}",
                            .summary = "Delete an overlay no blueprint uses",
                            .success_status = 204,
                            .handler = bind(&M::DeleteOverlay)},
                           {.method = "POST",
                            .path = "/api/v1/overlays/{id}/sync",
                            .summary = "Sync the overlay to every ready host now (jobs)",
                            .response = v1::JobRefs::descriptor(),
                            .success_status = 202,
                            .handler = bind(&M::SyncOverlay)},
                       });
}

}  // namespace l4d2::controller
