#include "common/status_macros.h"
#include "controller/api/api_messages.h"
#include "controller/api/resource_routes.h"
#include "controller/api/rest_support.h"
#include "controller/usecases/accounts.h"

namespace l4d2::controller {
namespace {

// API tokens.
class TokenRoutes {
 public:
  TokenRoutes(const RestApiDeps& deps, const RestApiOptions& options)
      : d_(deps), accounts_(AccountsOf(deps)) {}

  // Newest first (ids sort by creation time), paged in SQL: a page holds the tokens older
  // than its key.
  absl::StatusOr<ApiResponse> ListTokens(const ApiRequest& request) {
    L4D2_ASSIGN_OR_RETURN(PageRequest page, ParsePage(request));
    L4D2_ASSIGN_OR_RETURN(std::vector<ApiToken> tokens,
                          d_.tokens.List(request.actor, PageAfter(page), page.limit + 1));
    return MemoPageOfRows(json_, tokens, page, [](const ApiToken& row) { return row.id; });
  }

  absl::StatusOr<ApiResponse> CreateToken(const ApiRequest& request) {
    L4D2_ASSIGN_OR_RETURN(v1::CreateApiTokenRequest create,
                          Body<v1::CreateApiTokenRequest>(request));
    L4D2_ASSIGN_OR_RETURN(CreatedToken created,
                          controller::CreateToken(accounts_, request.actor, create.name(),
                                                  std::vector<std::string>(create.scopes().begin(),
                                                                           create.scopes().end())));
    v1::CreateApiTokenResponse response;
    *response.mutable_token() = ToApi(created.token);
    response.set_secret(created.secret);
    return Json(response, 201);
  }

  absl::StatusOr<ApiResponse> RevokeToken(const ApiRequest& request) {
    L4D2_RETURN_IF_ERROR(
        controller::RevokeToken(accounts_, request.actor, request.Param("id")).status());
    return NoContent();
  }

 private:
  RestApiDeps d_;
  AccountStores accounts_;
  RowJsonMemo<ApiToken> json_{"tokens", [](const ApiToken& row) { return ToJson(ToApi(row)); },
                              [](const ApiToken& row) { return Fingerprint(row); }};
};

}  // namespace

void AddTokenRoutes(const RestApiDeps& deps, const RestApiOptions& options,
                    std::vector<Route>& routes) {
  auto api = std::make_shared<TokenRoutes>(deps, options);
  using M = TokenRoutes;
  auto bind = [api](auto method) { return BindRoute(api, method); };
  AppendRoutes(routes, {
                           {.method = "GET",
                            .path = "/api/v1/tokens",
                            .summary = "API tokens (admins: everyone's)",
                            .response = v1::ListApiTokensResponse::descriptor(),
                            .query = {"limit", "page_token"},
                            .handler = bind(&M::ListTokens)},
                           {.method = "POST",
                            .path = "/api/v1/tokens",
                            .summary = "Create an API token; its secret is shown once",
                            .request = v1::CreateApiTokenRequest::descriptor(),
                            .response = v1::CreateApiTokenResponse::descriptor(),
                            .success_status = 201,
                            .handler = bind(&M::CreateToken)},
                           {.method = "DELETE",
                            .path = "/api/v1/tokens/{id}",
                            .summary = "Revoke an API token",
                            .success_status = 204,
                            .handler = bind(&M::RevokeToken)},
                       });
}

}  // namespace l4d2::controller
