#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "common/utf8.h"
#include "controller/api/api_messages.h"
#include "controller/api/resource_routes.h"
#include "controller/api/rest_support.h"
#include "controller/usecases/catalog.h"
#include "spec/spec_yaml.h"

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

  // The blueprint as the file `l4d2ctl blueprints export` prints (overlays by ref).
  absl::StatusOr<ApiResponse> ExportYaml(const ApiRequest& request) {
    L4D2_ASSIGN_OR_RETURN(Blueprint blueprint,
                          d_.stores.blueprints.Get(request.actor, request.Param("id")));
    std::vector<std::string> ids;
    for (const BlueprintOverlay& overlay : blueprint.overlays) ids.push_back(overlay.overlay_id);
    L4D2_ASSIGN_OR_RETURN(std::vector<Overlay> overlays,
                          d_.stores.overlays.GetMany(Actor::System(), ids));
    std::vector<agent::v1::OverlayLayer> layers;
    for (const BlueprintOverlay& overlay : blueprint.overlays) {
      agent::v1::OverlayLayer& layer = layers.emplace_back();
      layer.set_ref(overlay.overlay_id);
      for (const Overlay& known : overlays) {
        if (known.id == overlay.overlay_id) layer.set_ref(known.ref);
      }
      layer.set_exec_server_cfg(overlay.exec_server_cfg);
    }
    v1::BlueprintYaml file;
    file.set_yaml(spec::BlueprintToYaml(blueprint.name, blueprint.settings, layers));
    return Json(file);
  }

  // `l4d2ctl blueprints apply -f` over HTTP: the file's blueprint is created, or, when the
  // caller has one of its name, updated. Overlays are named by ref.
  absl::StatusOr<ApiResponse> ApplyYaml(const ApiRequest& request) {
    L4D2_ASSIGN_OR_RETURN(v1::BlueprintYaml file, Body<v1::BlueprintYaml>(request));
    L4D2_ASSIGN_OR_RETURN(spec::BlueprintYaml parsed,
                          spec::ParseBlueprintYaml(file.yaml(), "yaml"));
    BlueprintInput input{.name = parsed.name, .settings = parsed.settings};
    for (const agent::v1::OverlayLayer& layer : parsed.overlays) {
      L4D2_ASSIGN_OR_RETURN(
          std::vector<Overlay> found,
          d_.stores.overlays.List(request.actor, {.name_prefix = layer.ref(), .limit = 1000}));
      auto it = std::find_if(found.begin(), found.end(),
                             [&](const Overlay& overlay) { return overlay.ref == layer.ref(); });
      if (it == found.end()) {
        return absl::InvalidArgumentError(
            absl::StrCat("yaml: overlays: no overlay '", Utf8Excerpt(layer.ref(), 128), "'"));
      }
      input.overlays.push_back({.overlay_id = it->id, .exec_server_cfg = layer.exec_server_cfg()});
    }
    L4D2_ASSIGN_OR_RETURN(
        std::vector<Blueprint> same,
        d_.stores.blueprints.List(request.actor, {.name_prefix = parsed.name, .limit = 1000}));
    auto existing = std::find_if(same.begin(), same.end(), [&](const Blueprint& blueprint) {
      return blueprint.name == parsed.name && blueprint.owner_id == request.actor.user_id;
    });
    if (existing == same.end()) {
      L4D2_ASSIGN_OR_RETURN(Blueprint created,
                            controller::CreateBlueprint(d_.stores, request.actor, input));
      return Json(ToApi(created), 201);
    }
    L4D2_ASSIGN_OR_RETURN(Blueprint updated, controller::UpdateBlueprint(d_.stores, request.actor,
                                                                         existing->id, input));
    return Json(ToApi(updated));
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
                   {.method = "GET",
                    .path = "/api/v1/blueprints/{id}/yaml",
                    .summary = "The blueprint as the YAML file of `l4d2ctl blueprints export`",
                    .response = v1::BlueprintYaml::descriptor(),
                    .handler = bind(&M::ExportYaml)},
                   {.method = "POST",
                    .path = "/api/v1/blueprints/yaml",
                    .summary = "Create or update (by name) the blueprint of a YAML file, as "
                               "`l4d2ctl blueprints apply -f` does",
                    .request = v1::BlueprintYaml::descriptor(),
                    .response = v1::Blueprint::descriptor(),
                    .handler = bind(&M::ApplyYaml)},
               });
}

}  // namespace l4d2::controller
