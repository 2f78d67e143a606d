#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "common/status_macros.h"
#include "controller/api/api_messages.h"
#include "controller/api/resource_routes.h"
#include "controller/api/rest_support.h"
#include "controller/jobs/agent_client.h"
#include "controller/usecases/hosts.h"

namespace l4d2::controller {
namespace {

// Hosts (admins).
class HostRoutes {
 public:
  HostRoutes(const RestApiDeps& deps, const RestApiOptions& options)
      : d_(deps), o_(options), agent_client_(deps.agents, options.agent_timeout) {}

  // Paged in SQL (keyset over name and id).
  absl::StatusOr<ApiResponse> ListHosts(const ApiRequest& request) {
    L4D2_ASSIGN_OR_RETURN(PageRequest page, ParsePage(request));
    std::vector<int> counts;
    L4D2_ASSIGN_OR_RETURN(std::vector<Host> hosts,
                          d_.stores.hosts.List({.after = PageAfter(page), .limit = page.limit + 1},
                                               request.Query("state"), &counts));
    std::vector<ListedHost> listed;
    listed.reserve(hosts.size());
    for (size_t i = 0; i < hosts.size(); ++i) {
      listed.push_back({.id = hosts[i].id, .host = std::move(hosts[i]), .server_count = counts[i]});
    }
    return MemoPageOfRows(json_, listed, page,
                          [](const ListedHost& row) { return PageKeyOf(row.host.name, row.id); });
  }

  // For the join command; "" without enrollment here.
  std::string CaPin() const { return d_.enrollment != nullptr ? d_.enrollment->ca_pin() : ""; }

  absl::StatusOr<ApiResponse> CreateHost(const ApiRequest& request) {
    L4D2_ASSIGN_OR_RETURN(v1::CreateHostRequest create, Body<v1::CreateHostRequest>(request));
    NewHost host{.name = create.name(), .address = create.address()};
    if (create.max_instances() != 0) host.max_instances = create.max_instances();
    if (create.port_first() != 0) host.port_first = create.port_first();
    if (create.port_last() != 0) host.port_last = create.port_last();
    L4D2_ASSIGN_OR_RETURN(CreatedHost created,
                          controller::CreateHost(d_.stores, request.actor.Name(), host,
                                                 o_.enrollment_token_ttl, o_.public_url, CaPin()));
    v1::CreateHostResponse response;
    *response.mutable_host() = ToApi(created.host, 0);
    response.set_enrollment_token(created.enrollment_token);
    *response.mutable_token_expires_at() = ToTimestamp(created.token_expires_at);
    response.set_enroll_command(created.enroll_command);
    return Json(response, 201);
  }

  // The host's agent is refused from now on: its channels are dropped and its reports
  // forgotten here (other controllers within agents' report recheck).
  absl::StatusOr<ApiResponse> RevokeCertificate(const ApiRequest& request) {
    const std::string id = request.Param("id");
    L4D2_ASSIGN_OR_RETURN(CreatedHost revoked,
                          RevokeHostCertificate(d_.stores, request.actor.Name(), id,
                                                o_.enrollment_token_ttl, o_.public_url, CaPin()));
    d_.agents.Forget(id);
    if (d_.certificate_changed) d_.certificate_changed(id);
    L4D2_LOG(INFO) << "host " << id << ": certificate revoked by " << request.actor.Name();
    L4D2_ASSIGN_OR_RETURN(int servers, d_.stores.servers.CountOnHost(id));
    v1::CreateHostResponse response;
    *response.mutable_host() = ToApi(revoked.host, servers);
    response.set_enrollment_token(revoked.enrollment_token);
    *response.mutable_token_expires_at() = ToTimestamp(revoked.token_expires_at);
    response.set_enroll_command(revoked.enroll_command);
    return Json(response);
  }

  absl::StatusOr<ApiResponse> GetHost(const ApiRequest& request) {
    L4D2_ASSIGN_OR_RETURN(Host host, d_.stores.hosts.Get(request.Param("id")));
    L4D2_ASSIGN_OR_RETURN(int servers, d_.stores.servers.CountOnHost(host.id));
    return Json(ToApi(host, servers));
  }

  absl::StatusOr<ApiResponse> DrainHost(const ApiRequest& request, bool drained) {
    L4D2_RETURN_IF_ERROR(
        SetHostDrained(d_.stores, request.actor.Name(), request.Param("id"), drained));
    return GetHost(request);
  }

  absl::StatusOr<ApiResponse> DeleteHost(const ApiRequest& request) {
    L4D2_RETURN_IF_ERROR(
        controller::DeleteHost(d_.stores, request.actor.Name(), request.Param("id")));
    return NoContent();
  }

  absl::StatusOr<ApiResponse> InstallHost(const ApiRequest& request) {
    v1::InstallHostRequest install;
    if (!request.body.empty()) {
      L4D2_ASSIGN_OR_RETURN(install, Body<v1::InstallHostRequest>(request));
    }
    L4D2_ASSIGN_OR_RETURN(
        std::string job_id,
        InstallGame(d_.stores, request.actor.Name(), request.Param("id"),
                    {.validate = install.validate(), .branch = install.branch()}));
    v1::JobRef ref;
    ref.set_job_id(job_id);
    return Json(ref, 202);
  }

  // Asks the host's agent now (steamcmd: seconds); nothing is written.
  absl::StatusOr<ApiResponse> CheckForUpdate(const ApiRequest& request) {
    L4D2_ASSIGN_OR_RETURN(Host host, d_.stores.hosts.Get(request.Param("id")));
    if (host.state == "enrolling") {
      return absl::FailedPreconditionError(
          absl::StrCat("host '", host.name, "' has not enrolled yet"));
    }
    agent::v1::CheckForUpdateRequest call;
    call.set_branch(request.Query("branch"));
    PlainAgentCall plain;
    L4D2_ASSIGN_OR_RETURN(agent::v1::CheckForUpdateResponse answer,
                          agent_client_.CheckForUpdate(host, call, plain));
    return Json(answer);
  }

 private:
  RowJsonMemo<ListedHost> json_{
      "hosts", [](const ListedHost& row) { return ToJson(ToApi(row.host, row.server_count)); },
      [](const ListedHost& row) { return Fingerprint(row); }};

  RestApiDeps d_;
  RestApiOptions o_;
  GrpcAgentClient agent_client_;
};

}  // namespace

void AddHostRoutes(const RestApiDeps& deps, const RestApiOptions& options,
                   std::vector<Route>& routes) {
  auto api = std::make_shared<HostRoutes>(deps, options);
  using M = HostRoutes;
  auto bind = [api](auto method) { return BindRoute(api, method); };
  AppendRoutes(routes,
               {
                   {.method = "GET",
                    .path = "/api/v1/hosts",
                    .access = Access::kAdmin,
                    .summary = "Hosts",
                    .response = v1::ListHostsResponse::descriptor(),
                    .query = {"state", "limit", "page_token"},
                    .handler = bind(&M::ListHosts)},
                   {.method = "POST",
                    .path = "/api/v1/hosts",
                    .access = Access::kAdmin,
                    .summary = "Create a host: its one-time enrollment token and command",
                    .request = v1::CreateHostRequest::descriptor(),
                    .response = v1::CreateHostResponse::descriptor(),
                    .success_status = 201,
                    .handler = bind(&M::CreateHost)},
                   {.method = "GET",
                    .path = "/api/v1/hosts/{id}",
                    .access = Access::kAdmin,
                    .summary = "One host",
                    .response = v1::Host::descriptor(),
                    .handler = bind(&M::GetHost)},
                   {.method = "DELETE",
                    .path = "/api/v1/hosts/{id}",
                    .access = Access::kAdmin,
                    .summary = "Forget a host without servers",
                    .success_status = 204,
                    .handler = bind(&M::DeleteHost)},
                   {.method = "POST",
                    .path = "/api/v1/hosts/{id}/revoke",
                    .access = Access::kAdmin,
                    .summary = "Revoke the host's certificate (its agent is refused at once); a "
                               "new one-time enrollment token and command for it",
                    .response = v1::CreateHostResponse::descriptor(),
                    .handler = bind(&M::RevokeCertificate)},
                   {.method = "POST",
                    .path = "/api/v1/hosts/{id}/drain",
                    .access = Access::kAdmin,
                    .summary = "Place no new servers on the host",
                    .response = v1::Host::descriptor(),
                    .handler = [api](const ApiRequest& r) { return api->DrainHost(r, true); }},
                   {.method = "POST",
                    .path = "/api/v1/hosts/{id}/undrain",
                    .access = Access::kAdmin,
                    .summary = "Place servers on the host again",
                    .response = v1::Host::descriptor(),
                    .handler = [api](const ApiRequest& r) { return api->DrainHost(r, false); }},
                   {.method = "POST",
                    .path = "/api/v1/hosts/{id}/install",
                    .access = Access::kAdmin,
                    .summary = "Install or update the game on the host (a job)",
                    .request = v1::InstallHostRequest::descriptor(),
                    .response = v1::JobRef::descriptor(),
                    .success_status = 202,
                    .handler = bind(&M::InstallHost)},
                   {.method = "GET",
                    .path = "/api/v1/hosts/{id}/update",
                    .access = Access::kAdmin,
                    .summary = "The installed game build beside the newest one Steam offers "
                               "(asked of the host's steamcmd now)",
                    .response = agent::v1::CheckForUpdateResponse::descriptor(),
                    .query = {"branch"},
                    .handler = bind(&M::CheckForUpdate)},
               });
}

}  // namespace l4d2::controller
