#include "absl/strings/match.h"
#include "common/status_macros.h"
#include "controller/api/api_messages.h"
#include "controller/api/resource_routes.h"
#include "controller/api/rest_support.h"
#include "controller/usecases/accounts.h"

namespace l4d2::controller {
namespace {

// Users (admins).
class UserRoutes {
 public:
  UserRoutes(const RestApiDeps& deps, const RestApiOptions& options)
      : d_(deps), accounts_(AccountsOf(deps)) {}

  // Paged in SQL (keyset over username and id).
  absl::StatusOr<ApiResponse> ListUsers(const ApiRequest& request) {
    L4D2_ASSIGN_OR_RETURN(PageRequest page, ParsePage(request));
    std::optional<Role> role;
    if (!request.Query("role").empty()) {
      L4D2_ASSIGN_OR_RETURN(role, ParseRoleName(request.Query("role")));
    }
    L4D2_ASSIGN_OR_RETURN(std::vector<User> users, d_.users.List({.name_prefix = request.Query("q"),
                                                                  .after = PageAfter(page),
                                                                  .limit = page.limit + 1},
                                                                 role));
    return MemoPageOfRows(json_, users, page,
                          [](const User& row) { return PageKeyOf(row.username, row.id); });
  }

  absl::StatusOr<ApiResponse> CreateUser(const ApiRequest& request) {
    L4D2_ASSIGN_OR_RETURN(v1::CreateUserRequest create, Body<v1::CreateUserRequest>(request));
    L4D2_ASSIGN_OR_RETURN(Role role, ParseRoleName(create.role()));
    L4D2_ASSIGN_OR_RETURN(User user,
                          controller::CreateUser(accounts_, request.actor.Name(), create.username(),
                                                 create.password(), role));
    return Json(ToApi(user), 201);
  }

  absl::StatusOr<ApiResponse> GetUser(const ApiRequest& request) {
    L4D2_ASSIGN_OR_RETURN(User user, d_.users.Get(request.Param("id")));
    return Json(ToApi(user));
  }

  absl::StatusOr<ApiResponse> UpdateUser(const ApiRequest& request) {
    L4D2_ASSIGN_OR_RETURN(v1::UpdateUserRequest update, Body<v1::UpdateUserRequest>(request));
    UserChange change;
    if (update.has_role()) {
      if (update.role().empty()) return absl::InvalidArgumentError("role: 'admin' or 'operator'");
      L4D2_ASSIGN_OR_RETURN(change.role, ParseRoleName(update.role()));
    }
    if (update.has_password()) change.password = update.password();
    if (update.has_disabled()) change.disabled = update.disabled();
    L4D2_ASSIGN_OR_RETURN(User user, controller::UpdateUser(accounts_, request.actor.Name(),
                                                            request.Param("id"), change));
    return Json(ToApi(user));
  }

 private:
  RestApiDeps d_;
  AccountStores accounts_;
  RowJsonMemo<User> json_{"users", [](const User& row) { return ToJson(ToApi(row)); },
                          [](const User& row) { return Fingerprint(row); }};
};

}  // namespace

void AddUserRoutes(const RestApiDeps& deps, const RestApiOptions& options,
                   std::vector<Route>& routes) {
  auto api = std::make_shared<UserRoutes>(deps, options);
  using M = UserRoutes;
  auto bind = [api](auto method) { return BindRoute(api, method); };
  AppendRoutes(routes, {
                           {.method = "GET",
                            .path = "/api/v1/users",
                            .access = Access::kAdmin,
                            .summary = "Users",
                            .response = v1::ListUsersResponse::descriptor(),
                            .query = {"role", "q", "limit", "page_token"},
                            .handler = bind(&M::ListUsers)},
                           {.method = "POST",
                            .path = "/api/v1/users",
                            .access = Access::kAdmin,
                            .summary = "Create a user",
                            .request = v1::CreateUserRequest::descriptor(),
                            .response = v1::User::descriptor(),
                            .success_status = 201,
                            .handler = bind(&M::CreateUser)},
                           {.method = "GET",
                            .path = "/api/v1/users/{id}",
                            .access = Access::kAdmin,
                            .summary = "One user",
                            .response = v1::User::descriptor(),
                            .handler = bind(&M::GetUser)},
                           {.method = "PATCH",
                            .path = "/api/v1/users/{id}",
                            .access = Access::kAdmin,
                            .summary = "Change a user's role, password or disabled flag",
                            .request = v1::UpdateUserRequest::descriptor(),
                            .response = v1::User::descriptor(),
                            .handler = bind(&M::UpdateUser)},
                       });
}

}  // namespace l4d2::controller
